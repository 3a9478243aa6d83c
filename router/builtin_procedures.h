// Procedures the router itself implements, each switchable per realm.
#pragma once

#include "router/uris.h"

namespace kreuz::router {

class Realm;

void add_builtin_procedures(Realm& realm);

}  // namespace kreuz::router
