#include "websocket/server.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

namespace kreuz::ws {

Server::Server(uv_loop_t* loop, WebSocketOptions options)
    : loop_(loop), options_(std::move(options)), read_buffer_(new std::uint8_t[read_buffer_size]) {
    uv_check_init(loop_, &check_);
    uv_idle_init(loop_, &idle_);
    check_.data = this;
    idle_.data = this;
    open_server_handles_ = 2;
    uv_check_start(&check_, on_check);
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
}

// Handles are closed by shutdown(); the loop must have run it to completion first.
Server::~Server() = default;

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

    auto tcp = std::make_unique<uv_tcp_t>();
    uv_tcp_init(loop_, tcp.get());
    tcp->data = this;
    rc = uv_tcp_bind(tcp.get(), reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp.get()), listen.backlog, on_connection);
    if (rc != 0) {
        // The handle must be closed before its memory goes; the loop frees it.
        uv_close(reinterpret_cast<uv_handle_t*>(tcp.release()),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
        throw std::runtime_error("cannot listen on " + where + ": " + uv_strerror(rc));
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(tcp.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    const std::uint16_t port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    listeners_.push_back({std::move(tcp), host + ":" + std::to_string(port), listen.tls, std::move(tls)});
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

void Server::on_connection(uv_stream_t* listener, int status) {
    auto* self = static_cast<Server*>(listener->data);
    if (status < 0) {
        spdlog::warn("accept failed: {}", uv_strerror(status));
        return;
    }
    auto owned = std::make_unique<Connection>(*self, self->next_connection_id_++);
    Connection* connection = owned.get();
    self->connections_.emplace(connection, std::move(owned));
    if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&connection->tcp_)) != 0) {
        connection->destroy();
        return;
    }
    for (const Listener& l : self->listeners_) {
        if (l.tls && reinterpret_cast<uv_stream_t*>(l.tcp.get()) == listener) {
            connection->tls_ = std::make_unique<TlsSession>(*l.tls);
            break;
        }
    }
    ++self->stats_.accepted;
    connection->start();
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
    if (flush_list_.empty()) uv_idle_start(&idle_, [](uv_idle_t*) {});
    flush_list_.push_back(connection);
}

void Server::unschedule_flush(Connection* connection) {
    if (!connection->flush_scheduled_) return;
    connection->flush_scheduled_ = false;
    std::erase(flush_list_, connection);
}

void Server::schedule_session_end(Connection* connection) {
    if (flush_list_.empty() && session_ends_.empty()) uv_idle_start(&idle_, [](uv_idle_t*) {});
    session_ends_.push_back(connection);
}

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
    // flush() may schedule further flushes (a shutdown after the last frame
    // left); those wait for the next turn, so swap the list out first.
    std::vector<Connection*> list;
    list.swap(self->flush_list_);
    for (Connection* c : list) {
        if (c->flush_scheduled_) c->flush();
    }
    if (self->flush_list_.empty() && self->session_ends_.empty()) uv_idle_stop(&self->idle_);
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
    for (Listener& listener : listeners_) {
        uv_close(reinterpret_cast<uv_handle_t*>(listener.tcp.get()), [](uv_handle_t* h) {
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
    if (open_server_handles_ == 2 && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&check_))) {
        auto closed = [](uv_handle_t* h) {
            auto* self = static_cast<Server*>(h->data);
            if (--self->open_server_handles_ == 0 && self->shutdown_done_) {
                auto done = std::move(self->shutdown_done_);
                done();
            }
        };
        uv_close(reinterpret_cast<uv_handle_t*>(&check_), closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&idle_), closed);
    }
}

}  // namespace kreuz::ws
