//===- StatusTest.cpp - status codes and error messages -------------------===//
#include "bitttt.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

TEST(Status, VersionIsSemver) {
  ASSERT_NE(bitttt_version(), nullptr);
  EXPECT_TRUE(
      std::regex_match(bitttt_version(), std::regex(R"(\d+\.\d+\.\d+)")))
      << bitttt_version();
}

TEST(Status, EveryCodeHasItsOwnString) {
  std::set<std::string> seen;
  for (int s = BITTTT_OK; s <= BITTTT_ERR_INTERNAL; ++s) {
    std::string text = bitttt_status_string(static_cast<bitttt_status>(s));
    EXPECT_FALSE(text.empty()) << s;
    EXPECT_NE(text, "unknown status") << s;
    EXPECT_TRUE(seen.insert(text).second) << "duplicate: " << text;
  }
  EXPECT_STREQ(bitttt_status_string(static_cast<bitttt_status>(7)),
               "unknown status");
}

TEST(Status, ClearErrorEmptiesTheMessage) {
  bitttt_clear_error();
  ASSERT_NE(bitttt_last_error(), nullptr);
  EXPECT_STREQ(bitttt_last_error(), "");
}
