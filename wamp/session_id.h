// WAMP session ids: sent in WELCOME and used by clients in PUBLISH
// exclude/eligible lists, so they must be unguessable and unique.
#pragma once

#include <cstddef>
#include <string>

namespace kreuz::wamp {

inline constexpr std::size_t session_id_length = 16;

// 16 characters from A-Z a-z 0-9 '-' '_' (the format of AutobahnPython's
// newid()), 96 bits from OpenSSL's CSPRNG. Throws std::runtime_error when the
// CSPRNG fails.
std::string new_session_id();

}  // namespace kreuz::wamp
