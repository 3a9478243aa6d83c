// Procedures the router itself implements, each switchable per realm.
#pragma once

namespace kreuz::router {

class Realm;

namespace procedure_uri {
inline constexpr const char* ping = "http://api.wamp.ws/procedure#ping";
inline constexpr const char* echo = "http://api.wamp.ws/procedure#echo";
// The AutobahnTestsuite control procedure, under the URI of the digest and
// the older one the testsuite's own testee registers.
inline constexpr const char* testee_dispatch = "http://api.testsuite.wamp-proto.org/testee/control#dispatch";
inline constexpr const char* testee_dispatch_legacy = "http://api.testsuite.wamp.ws/testee/control#dispatch";
}  // namespace procedure_uri

void add_builtin_procedures(Realm& realm);

}  // namespace kreuz::router
