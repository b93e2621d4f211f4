#include "store/testing/store_fixture.h"

namespace berth::store {
namespace {

using testing::StoreTest;

TEST_F(StoreTest, ImagesPutGetListDelete) {
  Digest m = Put("{}", "m");
  auto put = store_->images().Put(
      {.name = "docker.io/library/alpine:3", .target = {"application/vnd.oci.image.manifest.v1+json", m, 2}});
  ASSERT_TRUE(put) << put.error().message();
  EXPECT_EQ(put->created_at, now_);

  Advance(std::chrono::seconds(10));
  ASSERT_TRUE(store_->images().Put({.name = "docker.io/library/alpine:3",
                                    .target = {"application/vnd.oci.image.manifest.v1+json", m, 2},
                                    .labels = {{"k", "v"}}}));
  auto got = store_->images().Get("docker.io/library/alpine:3");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->target.digest, m);
  EXPECT_EQ(got->labels.at("k"), "v");
  EXPECT_LT(got->created_at, got->updated_at);

  ASSERT_TRUE(store_->images().Put({.name = "docker.io/library/busybox:1", .target = {"x", m, 2}}));
  EXPECT_EQ(store_->images().List()->size(), 2u);
  EXPECT_EQ(store_->images().List("docker.io/library/b")->size(), 1u);
  ASSERT_TRUE(store_->images().Delete("docker.io/library/busybox:1"));
  EXPECT_EQ(store_->images().Get("docker.io/library/busybox:1").error().code(), Code::kNotFound);
  EXPECT_EQ(store_->images().Delete("nope").error().code(), Code::kNotFound);
}

TEST_F(StoreTest, ImageTargetMustExist) {
  auto r = store_->images().Put({.name = "x:1", .target = {"t", Digest::Of("absent"), 6}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::kFailedPrecondition);
}

TEST_F(StoreTest, LeasesAndResources) {
  auto a = store_->leases().Create("a", std::nullopt, {{"purpose", "test"}});
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->expires_at);
  EXPECT_EQ(store_->leases().Create("a", std::nullopt).error().code(), Code::kAlreadyExists);
  auto random = store_->leases().Create("", std::chrono::minutes(5));
  ASSERT_TRUE(random);
  EXPECT_EQ(random->id.size(), 24u);
  EXPECT_EQ(*random->expires_at, now_ + std::chrono::minutes(5));

  LeaseResource r1{LeaseResource::Type::kContent, Digest::Of("x").str()};
  LeaseResource r2{LeaseResource::Type::kSnapshot, "snap/1"};
  ASSERT_TRUE(store_->leases().AddResource("a", r1));
  ASSERT_TRUE(store_->leases().AddResource("a", r2));
  auto res = store_->leases().ListResources("a");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->size(), 2u);
  ASSERT_TRUE(store_->leases().DeleteResource("a", r1));
  EXPECT_EQ(*store_->leases().ListResources("a"), std::vector<LeaseResource>{r2});

  Advance(std::chrono::minutes(6));
  EXPECT_EQ(store_->leases().AddResource(random->id, r1).error().code(), Code::kNotFound);

  ASSERT_TRUE(store_->leases().Delete("a"));
  EXPECT_EQ(store_->leases().ListResources("a").error().code(), Code::kNotFound);
  EXPECT_EQ(store_->leases().List()->size(), 1u);
  EXPECT_EQ(store_->leases().Create("a/b", std::nullopt).error().code(), Code::kInvalidArgument);
}

TEST_F(StoreTest, WriterUnderUnknownLeaseFails) {
  auto w = content().OpenWriter({.ref = "r", .lease = "missing"});
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), Code::kNotFound);
}

}  // namespace
}  // namespace berth::store
