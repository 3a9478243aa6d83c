// Drives a hiredis async connection from a libuv loop.
//
// hiredis ships an adapter for this (hiredis/adapters/libuv.h), but the one
// in Debian 12's hiredis 0.14 drops every poll callback whose status is an
// error. libuv reports a refused or reset connect exactly that way (the
// socket polls POLLERR and libuv stops the handle), so with that adapter
// hiredis never learns why the connect failed and the link can only time
// out. This one hands the error to hiredis, whose own socket check then
// reports "Connection refused" through the connect callback.
#pragma once

#include <uv.h>

struct redisAsyncContext;

namespace kreuz::cluster {

// False when the socket cannot be watched; the context is then untouched and
// still the caller's to free.
bool attach_to_loop(redisAsyncContext* context, uv_loop_t* loop);

}  // namespace kreuz::cluster
