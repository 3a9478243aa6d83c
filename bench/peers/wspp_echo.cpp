// A WebSocket echo server on WebSocket++ (Debian's libwebsocketpp-dev 0.8.2,
// over Boost.Asio from libboost-dev 1.74), the C++ peer of kreuz-bench's echo
// scenario (bench/run.sh).
//
//   g++ -O2 -std=c++17 bench/peers/wspp_echo.cpp -o wspp-echo -pthread
//   ./wspp-echo PORT
//
// One thread, like kreuz. Listens on 127.0.0.1:PORT, accepts WebSocket
// connections on /echo only (404 otherwise; no subprotocol, no extensions:
// WebSocket++'s default asio config has permessage-deflate disabled), sets
// TCP_NODELAY on every connection, and sends every message back with its
// opcode. Logging is off. Stops on SIGTERM or SIGINT.
//
// -std=c++17: WebSocket++ 0.8.2's headers do not compile as C++20 with GCC 12
// (template-ids on constructors of endpoint and others).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include <boost/asio/signal_set.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

namespace {

using Server = websocketpp::server<websocketpp::config::asio>;

int parse_port(const char* text) {
    char* end = nullptr;
    const long port = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || port < 1 || port > 65535) return 0;
    return static_cast<int>(port);
}

}  // namespace

int main(int argc, char** argv) {
    const int port = argc == 2 ? parse_port(argv[1]) : 0;
    if (port == 0) {
        std::cerr << "usage: wspp-echo PORT" << std::endl;
        return 1;
    }

    Server server;
    server.clear_access_channels(websocketpp::log::alevel::all);
    server.clear_error_channels(websocketpp::log::elevel::all);
    server.set_error_channels(websocketpp::log::elevel::fatal);

    try {
        server.init_asio();
        server.set_reuse_addr(true);
        server.set_listen_backlog(1024);

        server.set_socket_init_handler([](websocketpp::connection_hdl, boost::asio::ip::tcp::socket& socket) {
            boost::system::error_code ignored;
            socket.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
        });

        server.set_validate_handler([&server](websocketpp::connection_hdl hdl) {
            Server::connection_ptr connection = server.get_con_from_hdl(hdl);
            if (connection->get_resource() != "/echo") {
                connection->set_status(websocketpp::http::status_code::not_found);
                return false;
            }
            return true;
        });

        server.set_message_handler([&server](websocketpp::connection_hdl hdl, Server::message_ptr message) {
            websocketpp::lib::error_code ec;
            server.send(hdl, message->get_payload(), message->get_opcode(), ec);
            // A failed send means the connection is closing: nothing to do.
        });

        boost::asio::signal_set signals(server.get_io_service(), SIGTERM, SIGINT);
        signals.async_wait([&server](const boost::system::error_code&, int) { server.stop(); });

        const auto address = boost::asio::ip::make_address("127.0.0.1");
        server.listen(boost::asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port)));
        server.start_accept();
        std::cout << "wspp-echo: listening on 127.0.0.1:" << port << "/echo" << std::endl;
        server.run();
    } catch (const websocketpp::exception& e) {
        std::cerr << "wspp-echo: " << e.what() << std::endl;
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "wspp-echo: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
