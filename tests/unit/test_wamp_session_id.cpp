#include <doctest/doctest.h>

#include <map>
#include <string>
#include <string_view>
#include <unordered_set>

#include "wamp/session_id.h"

using kreuz::wamp::new_session_id;
using kreuz::wamp::session_id_length;

TEST_CASE("wamp session id: length, alphabet and uniqueness over 10000 ids") {
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    constexpr int count = 10000;
    std::unordered_set<std::string> seen;
    std::map<char, int> symbols;
    for (int i = 0; i < count; ++i) {
        const std::string id = new_session_id();
        REQUIRE(id.size() == session_id_length);
        for (const char c : id) {
            REQUIRE(alphabet.find(c) != std::string_view::npos);
            ++symbols[c];
        }
        seen.insert(id);
    }
    CHECK(seen.size() == count);
    // 160000 symbols, 2500 expected each: a lost bit or a biased mapping
    // would leave symbols unused or far over-represented.
    CHECK(symbols.size() == alphabet.size());
    for (const auto& entry : symbols) {
        CAPTURE(entry.first);
        CHECK(entry.second > 2000);
        CHECK(entry.second < 3000);
    }
}
