#include "router/cluster/redis_uv_adapter.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace kreuz::cluster {

namespace {

// Owned by hiredis through ac->ev.data; freed by the uv_close that
// cleanup() starts, because libuv still holds the handle until then.
struct Watch {
    uv_poll_t handle;
    redisAsyncContext* context;  // null once hiredis has let go of the connection
    int events = 0;
};

Watch* watch_of(void* privdata) { return static_cast<Watch*>(privdata); }

void on_poll(uv_poll_t* handle, int status, int events) {
    Watch* watch = static_cast<Watch*>(handle->data);
    if (status < 0) {
        // libuv has stopped the handle; hiredis reads the socket's own error.
        // Before the connect completes that is the write side's job (it runs
        // the SO_ERROR check), afterwards a read meets the error and closes.
        if (watch->context == nullptr) return;
        if ((watch->context->c.flags & REDIS_CONNECTED) == 0) {
            redisAsyncHandleWrite(watch->context);
        } else {
            redisAsyncHandleRead(watch->context);
        }
        return;
    }
    // Either call may free the context; cleanup() clears the pointer then.
    if (watch->context != nullptr && (events & UV_READABLE) != 0) redisAsyncHandleRead(watch->context);
    if (watch->context != nullptr && (events & UV_WRITABLE) != 0) redisAsyncHandleWrite(watch->context);
}

void apply(Watch* watch) {
    if (watch->events != 0) {
        uv_poll_start(&watch->handle, watch->events, on_poll);
    } else {
        uv_poll_stop(&watch->handle);
    }
}

void add_read(void* privdata) {
    watch_of(privdata)->events |= UV_READABLE;
    apply(watch_of(privdata));
}

void del_read(void* privdata) {
    watch_of(privdata)->events &= ~UV_READABLE;
    apply(watch_of(privdata));
}

void add_write(void* privdata) {
    watch_of(privdata)->events |= UV_WRITABLE;
    apply(watch_of(privdata));
}

void del_write(void* privdata) {
    watch_of(privdata)->events &= ~UV_WRITABLE;
    apply(watch_of(privdata));
}

void cleanup(void* privdata) {
    Watch* watch = watch_of(privdata);
    watch->context = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle),
             [](uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); });
}

}  // namespace

bool attach_to_loop(redisAsyncContext* context, uv_loop_t* loop) {
    if (context->ev.data != nullptr) return false;
    auto* watch = new Watch{};
    if (uv_poll_init(loop, &watch->handle, context->c.fd) != 0) {
        delete watch;
        return false;
    }
    watch->handle.data = watch;
    watch->context = context;
    context->ev.data = watch;
    context->ev.addRead = add_read;
    context->ev.delRead = del_read;
    context->ev.addWrite = add_write;
    context->ev.delWrite = del_write;
    context->ev.cleanup = cleanup;
    return true;
}

}  // namespace kreuz::cluster
