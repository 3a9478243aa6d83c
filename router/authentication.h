// WAMP-CRA (digest section 8): the procedures #authreq and #auth of every
// realm. A session starts in the role "anonymous"; a successful auth moves it
// to the role of the user it authenticated as, which decides from then on
// what it may publish, subscribe to and call.
#pragma once

#include <string_view>

namespace kreuz::router {

class Realm;

namespace procedure_uri {
inline constexpr const char* authreq = "http://api.wamp.ws/procedure#authreq";
inline constexpr const char* auth = "http://api.wamp.ws/procedure#auth";
}  // namespace procedure_uri

namespace error_uri {
inline constexpr const char* already_authenticated = "http://api.wamp.ws/error#already-authenticated";
inline constexpr const char* authentication_already_requested =
    "http://api.wamp.ws/error#authentication-already-requested";
inline constexpr const char* anonymous_auth_forbidden = "http://api.wamp.ws/error#anonymous-auth-forbidden";
inline constexpr const char* no_such_authkey = "http://api.wamp.ws/error#no-such-authkey";
inline constexpr const char* no_authentication_requested = "http://api.wamp.ws/error#no-authentication-requested";
inline constexpr const char* invalid_signature = "http://api.wamp.ws/error#invalid-signature";
}  // namespace error_uri

// The role of sessions that have not authenticated, or did so anonymously.
inline constexpr std::string_view anonymous_role = "anonymous";

// authreq and auth may always be called, whatever the rules say: they are
// how a session gets its permissions.
bool is_auth_procedure(std::string_view procedure);

void add_auth_procedures(Realm& realm);

}  // namespace kreuz::router
