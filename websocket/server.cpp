#include "websocket/server.h"

#include <cerrno>
#include <stdexcept>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace kreuz::ws {

namespace {
// check_, idle_ and accept_pause_; each listener adds one.
constexpr int own_handles = 3;
// What one check phase may write and compress (FlushBudget). A few
// milliseconds of kernel copying or zlib each: well below the latency a
// bystander notices, well above what a loop turn of ordinary traffic needs.
constexpr std::size_t write_budget_per_turn = 4u << 20;
constexpr std::size_t deflate_budget_per_turn = 256u << 10;
// A queue this short is flushed in the turn it was filled, outside the
// budget, so that the sessions that keep up are never held back by those
// that do not.
constexpr std::size_t small_queue = 8u << 10;
}  // namespace

Server::Server(uv_loop_t* loop, WebSocketOptions options)
    : loop_(loop), options_(std::move(options)), read_buffer_(new std::uint8_t[read_buffer_size]) {
    uv_check_init(loop_, &check_);
    uv_idle_init(loop_, &idle_);
    uv_timer_init(loop_, &accept_pause_);
    check_.data = this;
    idle_.data = this;
    accept_pause_.data = this;
    open_server_handles_ = own_handles;
    uv_check_start(&check_, on_check);
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
    reopen_reserve();
}

// Handles are closed by shutdown(); the loop must have run it to completion first.
Server::~Server() {
    if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

void Server::add_endpoint(Endpoint endpoint) { endpoints_.push_back(std::move(endpoint)); }

const Endpoint* Server::find_endpoint(std::string_view path) const {
    for (const Endpoint& e : endpoints_) {
        if (e.path == path) return &e;
    }
    return nullptr;
}

std::uint16_t Server::listen(const ListenOptions& listen) {
    sockaddr_storage addr{};
    const bool v6 = listen.host.find(':') != std::string::npos;
    int rc = v6 ? uv_ip6_addr(listen.host.c_str(), listen.port, reinterpret_cast<sockaddr_in6*>(&addr))
                : uv_ip4_addr(listen.host.c_str(), listen.port, reinterpret_cast<sockaddr_in*>(&addr));
    const std::string host = v6 ? "[" + listen.host + "]" : listen.host;
    const std::string where = host + ":" + std::to_string(listen.port);
    if (rc != 0) throw std::runtime_error("invalid listen address " + where + ": " + uv_strerror(rc));
    std::optional<TlsContext> tls;
    if (listen.tls) {
        auto loaded = TlsContext::load(*listen.tls);
        if (const auto* e = std::get_if<TlsError>(&loaded)) {
            throw std::runtime_error("TLS on " + where + ": " + e->reason);
        }
        tls.emplace(std::move(std::get<TlsContext>(loaded)));
        if (!plaintext_buffer_) plaintext_buffer_.reset(new std::uint8_t[read_buffer_size]);
    }

    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("cannot listen on " + where + ": " + uv_strerror(uv_translate_sys_error(errno)));
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const socklen_t addr_len = v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 || ::listen(fd, listen.backlog) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error("cannot listen on " + where + ": " + uv_strerror(uv_translate_sys_error(err)));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    const std::uint16_t port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    auto poll = std::make_unique<uv_poll_t>();
    uv_poll_init_socket(loop_, poll.get(), fd);
    poll->data = this;
    uv_poll_start(poll.get(), UV_READABLE, on_acceptable);
    listeners_.push_back({fd, std::move(poll), host + ":" + std::to_string(port), listen.tls, std::move(tls)});
    ++open_server_handles_;
    return port;
}

bool Server::reload_tls() {
    bool all_loaded = true;
    for (Listener& l : listeners_) {
        if (!l.tls) continue;
        auto loaded = TlsContext::load(*l.tls_options);
        if (const auto* e = std::get_if<TlsError>(&loaded)) {
            spdlog::error("TLS reload on {} failed, the certificate in use stays: {}", l.name, e->reason);
            all_loaded = false;
            continue;
        }
        *l.tls = std::move(std::get<TlsContext>(loaded));
        spdlog::info("TLS certificate on {} reloaded from {}", l.name, l.tls_options->cert);
    }
    return all_loaded;
}

void Server::on_acceptable(uv_poll_t* poll, int status, int) {
    auto* self = static_cast<Server*>(poll->data);
    for (Listener& l : self->listeners_) {
        if (l.poll.get() != poll) continue;
        if (status < 0) {
            spdlog::warn("listener {}: {}", l.name, uv_strerror(status));
            return;
        }
        self->accept_pending(l);
        return;
    }
}

// Bounded per readiness, so that a burst of connections cannot hold the loop
// away from the sessions it already has; the listener stays readable and
// the rest are taken in the next turn.
void Server::accept_pending(Listener& listener) {
    constexpr int max_accepts_per_turn = 128;
    for (int i = 0; i < max_accepts_per_turn; ++i) {
        const int fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            open_connection(listener, fd);
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED:
            continue;
        case EAGAIN:
            return;
        case EMFILE:
        case ENFILE:
            refuse_beyond_fd_limit(listener);
            return;
        default:
            spdlog::warn("accept on {} failed: {}", listener.name, uv_strerror(uv_translate_sys_error(errno)));
            return;
        }
    }
}

void Server::open_connection(const Listener& listener, int fd) {
    auto owned = std::make_unique<Connection>(*this, next_connection_id_++);
    Connection* connection = owned.get();
    connections_.emplace(connection, std::move(owned));
    if (uv_tcp_open(&connection->tcp_, fd) != 0) {
        ::close(fd);
        connection->close_socket();
        return;
    }
    if (listener.tls) connection->tls_ = std::make_unique<TlsSession>(*listener.tls);
    ++stats_.accepted;
    connection->start();
}

// At the descriptor limit a connection cannot even be accepted, and one left
// in the backlog keeps the listener readable. The reserve descriptor makes
// room for one at a time: each is answered 503 and closed at once.
void Server::refuse_beyond_fd_limit(Listener& listener) {
    static const std::string answer = http_error_response(503, "server at its file-descriptor limit");
    std::uint64_t refused = 0;
    if (reserve_fd_ >= 0) {
        ::close(reserve_fd_);
        reserve_fd_ = -1;
        for (int fd; (fd = ::accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
            [[maybe_unused]] const auto sent = ::send(fd, answer.data(), answer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            ::shutdown(fd, SHUT_WR);
            ::close(fd);
            ++refused;
        }
        reopen_reserve();
    }
    // Without the reserve (another descriptor took its place) nothing could be
    // accepted: wait for descriptors to be freed instead of spinning.
    if (refused == 0) pause_accepting();
    stats_.refused += refused;
    stats_.refused_fd_limit += refused;
    fd_limit_refused_unlogged_ += refused;
    const std::uint64_t t = uv_now(loop_);
    if (fd_limit_refused_unlogged_ > 0 && (fd_limit_logged_at_ == 0 || t - fd_limit_logged_at_ >= 10'000)) {
        rlimit limit{};
        ::getrlimit(RLIMIT_NOFILE, &limit);
        spdlog::warn("refused {} connection(s) on {}: the file-descriptor limit ({}) is reached with {} connections "
                     "open; raise it (ulimit -n, LimitNOFILE) or lower websocket.max_connections",
                     fd_limit_refused_unlogged_, listener.name, static_cast<unsigned long long>(limit.rlim_cur),
                     connections_.size());
        fd_limit_refused_unlogged_ = 0;
        fd_limit_logged_at_ = t;
    }
}

void Server::reopen_reserve() {
    if (reserve_fd_ < 0) reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void Server::pause_accepting() {
    if (shutting_down_ || uv_is_active(reinterpret_cast<uv_handle_t*>(&accept_pause_))) return;
    for (Listener& l : listeners_) uv_poll_stop(l.poll.get());
    uv_timer_start(&accept_pause_, [](uv_timer_t* timer) {
        auto* self = static_cast<Server*>(timer->data);
        if (self->shutting_down_) return;
        self->reopen_reserve();
        for (Listener& l : self->listeners_) uv_poll_start(l.poll.get(), UV_READABLE, on_acceptable);
    }, 100, 0);
}

std::optional<std::pair<int, std::string>> Server::admit(Connection& connection) {
    if (shutting_down_) return std::pair{503, std::string("server shutting down")};
    if (options_.max_connections && connections_.size() > options_.max_connections) {
        return std::pair{503, std::string("too many connections")};
    }
    if (options_.max_handshakes && handshakes_in_flight_ >= options_.max_handshakes) {
        return std::pair{503, std::string("too many handshakes in progress")};
    }
    std::size_t& from_ip = connections_per_ip_[connection.remote_ip()];
    if (options_.max_connections_per_ip && from_ip >= options_.max_connections_per_ip) {
        if (from_ip == 0) connections_per_ip_.erase(connection.remote_ip());
        return std::pair{503, std::string("too many connections from this address")};
    }
    ++from_ip;
    connection.admitted_ = true;
    ++handshakes_in_flight_;
    return std::nullopt;
}

void Server::schedule_flush(Connection* connection) {
    if (connection->flush_scheduled_) return;
    connection->flush_scheduled_ = true;
    flush_list_.push_back(connection);
    keep_polling_without_wait();
}

void Server::unschedule_flush(Connection* connection) {
    if (!connection->flush_scheduled_) return;
    connection->flush_scheduled_ = false;
    std::erase(flush_list_, connection);
    std::erase(flush_later_, connection);
}

void Server::flush_later(Connection* connection) {
    connection->flush_scheduled_ = true;
    flush_later_.push_back(connection);
    keep_polling_without_wait();
}

void Server::schedule_session_end(Connection* connection) {
    session_ends_.push_back(connection);
    keep_polling_without_wait();
}

// An active idle handle makes poll return at once, so the check phase comes
// round again with no I/O to wake it; starting it twice is a no-op.
void Server::keep_polling_without_wait() { uv_idle_start(&idle_, [](uv_idle_t*) {}); }

// A handler's on_close may end other sessions (a reply that overflows a
// caller's queue): those join the list and are finished in the same pass.
void Server::finish_session_ends() {
    while (!session_ends_.empty()) {
        std::vector<Connection*> list;
        list.swap(session_ends_);
        for (Connection* c : list) c->finish_session();
    }
}

void Server::on_check(uv_check_t* check) {
    auto* self = static_cast<Server*>(check->data);
    // First the ends, so that what their handlers send (errors to the callers
    // of a departed callee) leaves in this turn's flush.
    self->finish_session_ends();
    // Connections with new frames first, then those the last turn's budget
    // did not finish: an answer queued now never waits behind the megabytes
    // still owed to a slow reader. flush() may schedule further flushes (a
    // shutdown after the last frame left); those wait for the next turn, so
    // both lists are taken over first.
    std::vector<Connection*> list;
    list.swap(self->flush_list_);
    list.insert(list.end(), self->flush_later_.begin(), self->flush_later_.end());
    self->flush_later_.clear();
    FlushBudget budget{write_budget_per_turn, deflate_budget_per_turn};
    for (Connection* c : list) {
        if (!c->flush_scheduled_) continue;  // destroyed since it was scheduled
        if (c->queued_bytes() <= small_queue) {
            // An answer or a few events: what a session that reads is owed,
            // flushed whatever the budget says. Slow consumers and bulk
            // transfers have the long queues, and only they share the budget.
            FlushBudget own{small_queue, small_queue};
            c->flush(own);
        } else if (budget.write_bytes > 0) {
            c->flush(budget);
        } else {
            self->flush_later_.push_back(c);
        }
    }
    if (self->flush_list_.empty() && self->flush_later_.empty() && self->session_ends_.empty()) {
        uv_idle_stop(&self->idle_);
    }
    list.clear();
    if (self->flush_list_.empty()) self->flush_list_.swap(list);  // keep the capacity
}

void Server::remove(Connection* connection) {
    // The close phase is a safe point too: a connection destroyed after this
    // turn's check phase ends its session here, before its memory goes.
    if (connection->session_end_pending_) {
        std::erase(session_ends_, connection);
        connection->finish_session();
    }
    if (connection->admitted_) {
        auto per_ip = connections_per_ip_.find(connection->remote_ip());
        if (--per_ip->second == 0) connections_per_ip_.erase(per_ip);
    }
    connections_.erase(connection);
    maybe_finish_shutdown();
}

void Server::shutdown(std::function<void()> done) {
    if (shutting_down_) return;
    shutting_down_ = true;
    shutdown_done_ = std::move(done);
    uv_timer_stop(&accept_pause_);
    for (Listener& listener : listeners_) {
        uv_poll_stop(listener.poll.get());
        ::close(listener.fd);
        uv_close(reinterpret_cast<uv_handle_t*>(listener.poll.get()), [](uv_handle_t* h) {
            auto* self = static_cast<Server*>(h->data);
            --self->open_server_handles_;
            self->maybe_finish_shutdown();
        });
    }
    spdlog::info("shutting down: closing {} connection(s)", connections_.size());
    std::vector<Connection*> all;
    all.reserve(connections_.size());
    for (auto& entry : connections_) all.push_back(entry.first);
    for (Connection* c : all) c->close_for_shutdown();
    maybe_finish_shutdown();
}

void Server::maybe_finish_shutdown() {
    if (!shutting_down_ || !connections_.empty()) return;
    if (open_server_handles_ == own_handles && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&check_))) {
        auto closed = [](uv_handle_t* h) {
            auto* self = static_cast<Server*>(h->data);
            if (--self->open_server_handles_ == 0 && self->shutdown_done_) {
                auto done = std::move(self->shutdown_done_);
                done();
            }
        };
        uv_close(reinterpret_cast<uv_handle_t*>(&check_), closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&idle_), closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&accept_pause_), closed);
    }
}

}  // namespace kreuz::ws
