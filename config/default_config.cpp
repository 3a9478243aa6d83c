#include "config/loader.h"

namespace kreuz::config {

namespace {

// Local only, one realm open to every client (there is no authentication in
// it), and no echo endpoint: a router started without --config must not be
// reachable from other machines or offer more than WAMP.
constexpr std::string_view embedded_default = R"yaml(# kreuz: the configuration used when no --config is given.
listen:
  - host: 127.0.0.1
    port: 8080
log:
  level: info
realms:
  - name: default
    paths: [/ws]
    builtins:
      ping: true
      echo: true
      testee_dispatch: true
)yaml";

}  // namespace

std::string_view default_config_yaml() { return embedded_default; }

}  // namespace kreuz::config
