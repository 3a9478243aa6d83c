// Every URI the WAMP core answers with or serves: its error URIs and its
// procedures. One place, so that a URI is defined once and the whole set can
// be read (and documented, docs/CONFIG.md) at a glance. HTTP backends' own
// error URIs live with them in http/backends.h.
#pragma once

namespace kreuz::router {

namespace error_uri {
inline constexpr const char* no_such_procedure = "http://api.wamp.ws/error#NoSuchRPCEndpoint";
inline constexpr const char* generic = "http://api.wamp.ws/error#generic";
inline constexpr const char* internal = "http://api.wamp.ws/error#internal";
inline constexpr const char* not_authorized = "http://api.wamp.ws/error#not_authorized";
inline constexpr const char* invalid_argument = "http://api.wamp.ws/error#invalid-argument";
inline constexpr const char* too_many_pending_calls = "urn:kreuz:error:too-many-pending-calls";
// Routed RPC (router/registrations.h).
inline constexpr const char* procedure_already_exists = "urn:kreuz:error:procedure-already-exists";
inline constexpr const char* no_such_registration = "urn:kreuz:error:no-such-registration";
inline constexpr const char* too_many_registrations = "urn:kreuz:error:too-many-registrations";
inline constexpr const char* callee_gone = "urn:kreuz:error:callee-gone";
inline constexpr const char* callee_timeout = "urn:kreuz:error:callee-timeout";
// Routed RPC across nodes (router/backplane.h).
inline constexpr const char* cluster_unavailable = "urn:kreuz:error:cluster-unavailable";
// WAMP-CRA (router/authentication.h).
inline constexpr const char* already_authenticated = "http://api.wamp.ws/error#already-authenticated";
inline constexpr const char* authentication_already_requested =
    "http://api.wamp.ws/error#authentication-already-requested";
inline constexpr const char* anonymous_auth_forbidden = "http://api.wamp.ws/error#anonymous-auth-forbidden";
inline constexpr const char* no_such_authkey = "http://api.wamp.ws/error#no-such-authkey";
inline constexpr const char* no_authentication_requested = "http://api.wamp.ws/error#no-authentication-requested";
inline constexpr const char* invalid_signature = "http://api.wamp.ws/error#invalid-signature";
}  // namespace error_uri

namespace procedure_uri {
// Built in (router/builtin_procedures.h), each switchable per realm.
inline constexpr const char* ping = "http://api.wamp.ws/procedure#ping";
inline constexpr const char* echo = "http://api.wamp.ws/procedure#echo";
// The AutobahnTestsuite control procedure, under the URI of the digest and
// the older one the testsuite's own testee registers.
inline constexpr const char* testee_dispatch = "http://api.testsuite.wamp-proto.org/testee/control#dispatch";
inline constexpr const char* testee_dispatch_legacy = "http://api.testsuite.wamp.ws/testee/control#dispatch";
// WAMP-CRA (router/authentication.h).
inline constexpr const char* authreq = "http://api.wamp.ws/procedure#authreq";
inline constexpr const char* auth = "http://api.wamp.ws/procedure#auth";
// Routed RPC (router/registrations.h).
inline constexpr const char* register_procedure = "urn:kreuz:procedure:register";
inline constexpr const char* unregister_procedure = "urn:kreuz:procedure:unregister";
}  // namespace procedure_uri

}  // namespace kreuz::router
