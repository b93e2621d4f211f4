#!/usr/bin/python3
"""A Docker registry token server for tests (the "Docker token protocol").

Started by PeerRegistry (peer_registry.cc) in token mode; Debian's
docker-registry (distribution 2.8) is configured with this server as its
`auth.token.realm` and with --cert as its `rootcertbundle`.

  GET  /token?service=S&scope=repository:NAME:pull,push[&scope=...]
       Authorization: Basic ... optional
  POST /token  (OAuth2 form: grant_type=password, username, password,
       service, scope; what containerd tries first when it has credentials)

Policy (deliberately small):
  * wrong credentials, or a `service` other than --service: 401 / 400;
  * --user gets pull,push; --reader gets pull; anonymous gets pull only with
    --anonymous-pull, otherwise nothing;
  * repositories whose name starts with "denied/" are granted nothing to
    anyone, so the registry answers 401 again after a successful token fetch
    (the client must give up, not loop);
  * a token never grants more than was asked for.
A token is issued (HTTP 200) even when it grants nothing, as Docker Hub does.

Tokens are JWTs signed RS256 with a fresh RSA key; the header carries the
self-signed certificate in "x5c", which distribution verifies against
rootcertbundle (registry/auth/token/token.go, parseAndVerifyCertChain).

Every request is appended as one JSON line to --log-requests, so tests can
count token fetches (token caching) and see the scopes asked for.
Needs only the standard library and python3-cryptography (Debian 12).
"""

import argparse
import base64
import datetime
import json
import os
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

DENIED_PREFIX = "denied/"
TTL_SECONDS = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_key_and_cert(cert_path):
    """A new RSA key and its self-signed certificate, written as PEM to cert_path."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-test token signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tmp = cert_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, cert_path)
    return key, cert


class Issuer:
    def __init__(self, args):
        self.args = args
        self.key, cert = make_key_and_cert(args.cert)
        der = cert.public_bytes(serialization.Encoding.DER)
        self.header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        self.users = {}  # name -> (password, actions granted)
        for spec, actions in ((args.user, {"pull", "push"}), (args.reader, {"pull"})):
            if spec:
                name, _, password = spec.partition(":")
                self.users[name] = (password, actions)
        self.lock = threading.Lock()

    def authenticate(self, username, password):
        """(subject, actions) for valid or absent credentials; None if wrong."""
        if username is None:
            return "", ({"pull"} if self.args.anonymous_pull else set())
        entry = self.users.get(username)
        if entry is None or not secrets.compare_digest(entry[0], password):
            return None
        return username, entry[1]

    def grant(self, scopes, allowed):
        access = []
        for scope in scopes:
            # repository:NAME:ACTIONS; NAME may contain ':' only as a port, which
            # repository names here never do, so split from the right.
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            wanted = [a for a in actions.split(",") if a]
            given = [] if name.startswith(DENIED_PREFIX) else [a for a in wanted if a in allowed]
            access.append({"type": "repository", "name": name, "actions": given})
        return access

    def sign(self, subject, access):
        now = int(time.time())
        claims = {
            "iss": self.args.issuer,
            "sub": subject,
            "aud": self.args.service,
            "exp": now + TTL_SECONDS,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (
            b64url(json.dumps(self.header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)

    def log(self, record):
        with self.lock, open(self.args.log_requests, "a") as f:
            f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    issuer = None  # set in main

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"details": "not found"})
        query = urllib.parse.parse_qs(url.query)
        username, password = self.basic_credentials()
        self.issue("GET", query, username, password)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if url.path != "/token":
            return self.reply(404, {"details": "not found"})
        if form.get("grant_type", [""])[0] != "password":
            # refresh_token grants are not supported: say so like a real server.
            return self.reply(400, {"error": "unsupported_grant_type"})
        username = form.get("username", [None])[0]
        password = form.get("password", [""])[0]
        self.issue("POST", form, username, password)

    def basic_credentials(self):
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None, None
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            return "", ""  # malformed: treated as wrong credentials
        username, _, password = decoded.partition(":")
        return username, password

    def issue(self, method, params, username, password):
        # Scopes may come as several parameters or space-separated in one.
        scopes = [s for value in params.get("scope", []) for s in value.split(" ") if s]
        service = params.get("service", [""])[0]
        record = {"method": method, "user": username, "service": service, "scopes": scopes}
        if service != self.issuer.args.service:
            record["status"] = 400
            self.issuer.log(record)
            return self.reply(400, {"details": "unknown service %r" % service})
        who = self.issuer.authenticate(username, password)
        if who is None:
            record["status"] = 401
            self.issuer.log(record)
            return self.reply(401, {"details": "incorrect username or password"})
        subject, allowed = who
        access = self.issuer.grant(scopes, allowed)
        token = self.issuer.sign(subject, access)
        record.update(status=200, access=access)
        self.issuer.log(record)
        issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.reply(200, {"token": token, "access_token": token,
                         "expires_in": TTL_SECONDS, "issued_at": issued})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="berth-test token server"')
        self.end_headers()
        self.wfile.write(data)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cert", required=True, help="where to write the signing certificate (PEM)")
    p.add_argument("--port-file", required=True, help="written with the port once serving")
    p.add_argument("--log-requests", required=True, help="JSON line per token request")
    p.add_argument("--service", default="berth-test")
    p.add_argument("--issuer", default="berth-test-issuer")
    p.add_argument("--user", help="NAME:PASSWORD granted pull,push")
    p.add_argument("--reader", help="NAME:PASSWORD granted pull only")
    p.add_argument("--anonymous-pull", action="store_true", help="anonymous clients may pull")
    args = p.parse_args()

    Handler.issuer = Issuer(args)
    open(args.log_requests, "a").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Port 0 then report it: no race with other tests for a port.
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
