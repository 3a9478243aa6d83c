// WAMP-CRA (digest section 8): the procedures #authreq and #auth of every
// realm. A session starts in the role "anonymous"; a successful auth moves it
// to the role of the user it authenticated as, which decides from then on
// what it may publish, subscribe to and call.
#pragma once

#include <string_view>

#include "router/uris.h"

namespace kreuz::router {

class Realm;

// The role of sessions that have not authenticated, or did so anonymously.
inline constexpr std::string_view anonymous_role = "anonymous";

// authreq and auth may always be called, whatever the rules say: they are
// how a session gets its permissions.
bool is_auth_procedure(std::string_view procedure);

void add_auth_procedures(Realm& realm);

}  // namespace kreuz::router
