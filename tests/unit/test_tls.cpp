#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "websocket/tls.h"

using kreuz::ws::TlsContext;
using kreuz::ws::TlsDecrypted;
using kreuz::ws::TlsError;
using kreuz::ws::TlsOptions;
using kreuz::ws::TlsSession;
using kreuz::ws::TlsVersion;

namespace {

struct Freer {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
    void operator()(X509* p) const { X509_free(p); }
    void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
    void operator()(SSL* p) const { SSL_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Freer>;

// A directory of its own per test run, removed at the end.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        char name[] = "/tmp/kreuz-tls-test-XXXXXX";
        REQUIRE(mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// A self-signed P-256 certificate with the given serial; written as PEM when
// paths are given.
struct Identity {
    Owned<EVP_PKEY> key;
    Owned<X509> cert;
    std::string cert_file;
    std::string key_file;
};

Identity make_identity(const TempDir& dir, const std::string& name, long serial) {
    Identity id;
    id.key.reset(EVP_EC_gen("P-256"));
    REQUIRE(id.key);
    id.cert.reset(X509_new());
    X509* x = id.cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, id.key.get());
    X509_NAME* subject = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                               -1, 0);
    X509_set_issuer_name(x, subject);
    REQUIRE(X509_sign(x, id.key.get(), EVP_sha256()) > 0);

    id.cert_file = dir.file(name + ".crt");
    id.key_file = dir.file(name + ".key");
    std::FILE* f = std::fopen(id.cert_file.c_str(), "w");
    REQUIRE(f);
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(id.key_file.c_str(), "w");
    REQUIRE(f);
    PEM_write_PrivateKey(f, id.key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    return id;
}

TlsOptions options_for(const Identity& id) {
    TlsOptions o;
    o.cert = id.cert_file;
    o.key = id.key_file;
    return o;
}

TlsContext load(const TlsOptions& options) {
    auto result = TlsContext::load(options);
    if (const auto* e = std::get_if<TlsError>(&result)) FAIL("TlsContext::load: " << e->reason);
    return std::move(std::get<TlsContext>(result));
}

std::string load_error(const TlsOptions& options) {
    auto result = TlsContext::load(options);
    const auto* e = std::get_if<TlsError>(&result);
    REQUIRE_MESSAGE(e != nullptr, "the context was built");
    return e->reason;
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// An OpenSSL client over memory BIOs, trusting `trusted`.
struct Client {
    Owned<SSL_CTX> ctx;
    Owned<SSL> ssl;
    BIO* in = nullptr;   // what the server sent, read by the client
    BIO* out = nullptr;  // what the client sends

    explicit Client(const Identity& trusted, int max_version = 0, const Identity* own = nullptr) {
        ctx.reset(SSL_CTX_new(TLS_client_method()));
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), trusted.cert.get());
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
        if (max_version) {
            SSL_CTX_set_max_proto_version(ctx.get(), max_version);
        }
        if (own) {
            SSL_CTX_use_certificate(ctx.get(), own->cert.get());
            SSL_CTX_use_PrivateKey(ctx.get(), own->key.get());
        }
        ssl.reset(SSL_new(ctx.get()));
        in = BIO_new(BIO_s_mem());
        out = BIO_new(BIO_s_mem());
        SSL_set_bio(ssl.get(), in, out);
        SSL_set_connect_state(ssl.get());
    }

    std::string take_output() {
        std::string bytes;
        char buf[4096];
        int n = 0;
        while ((n = BIO_read(out, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<std::size_t>(n));
        return bytes;
    }
    void receive(const std::string& bytes) {
        if (!bytes.empty()) BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
    }
    // Advances the handshake as far as the received bytes allow.
    void step() { SSL_do_handshake(ssl.get()); }
    bool done() const { return SSL_is_init_finished(ssl.get()) == 1; }
    void write(const std::string& text) {
        REQUIRE(SSL_write(ssl.get(), text.data(), static_cast<int>(text.size())) == static_cast<int>(text.size()));
    }
    std::string read_all() {
        std::string text;
        char buf[16384];
        int n = 0;
        while ((n = SSL_read(ssl.get(), buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
        return text;
    }
    long peer_serial() const {
        X509* peer = SSL_get0_peer_certificate(ssl.get());
        REQUIRE(peer != nullptr);
        return ASN1_INTEGER_get(X509_get0_serialNumber(peer));
    }
};

// Everything the server decrypts from `bytes`, with a plaintext buffer of
// `capacity` bytes; fails the test on a TLS failure.
std::string server_receive(TlsSession& server, std::string_view bytes, std::size_t capacity = 65536) {
    std::vector<std::uint8_t> buffer(capacity);
    std::string plain;
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    std::size_t offset = 0;
    for (;;) {
        const TlsDecrypted r = server.decrypt({data + offset, bytes.size() - offset}, buffer);
        REQUIRE_MESSAGE(r.status == TlsDecrypted::Status::ok, r.error);
        offset += r.consumed;
        plain.append(reinterpret_cast<const char*>(buffer.data()), r.produced);
        if (r.produced < buffer.size()) break;
    }
    CHECK(offset == bytes.size());
    return plain;
}

std::string take(TlsSession& server) {
    std::string bytes;
    bytes.swap(server.output());
    return bytes;
}

// Runs the handshake to the end, both sides over memory.
void handshake(Client& client, TlsSession& server) {
    for (int round = 0; round < 10 && !(client.done() && server.handshake_done()); ++round) {
        client.step();
        server_receive(server, client.take_output());
        client.receive(take(server));
    }
    client.step();
    REQUIRE(client.done());
    REQUIRE(server.handshake_done());
}

void server_send(TlsSession& server, std::vector<std::string_view> pieces) {
    auto r = server.encrypt(pieces);
    REQUIRE(r.index() == 0);
}

}  // namespace

TEST_CASE("tls: handshake and data both ways, TLS 1.2 and 1.3") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const TlsContext context = load(options_for(id));
    for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        CAPTURE(version);
        Client client(id, version);
        TlsSession server(context);
        CHECK_FALSE(server.handshake_done());
        handshake(client, server);
        CHECK(contains(server.description(), version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2"));

        client.write("GET /ws HTTP/1.1\r\n");
        client.write("\r\n");
        CHECK(server_receive(server, client.take_output()) == "GET /ws HTTP/1.1\r\n\r\n");

        server_send(server, {"HTTP/1.1 101", " Switching", "\r\n"});
        client.receive(take(server));
        CHECK(client.read_all() == "HTTP/1.1 101 Switching\r\n");
    }
}

TEST_CASE("tls: small pieces are gathered into few records, large ones are split into full records") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const TlsContext context = load(options_for(id));
    Client client(id);
    TlsSession server(context);
    handshake(client, server);

    // 200 two-byte headers and 200 ten-byte payloads: one record, not 400.
    std::vector<std::string> storage;
    std::vector<std::string_view> pieces;
    std::string expected;
    for (int i = 0; i < 200; ++i) {
        storage.push_back(std::string("\x81\x0a", 2));
        storage.push_back("message" + std::to_string(100 + i));
    }
    for (const std::string& s : storage) {
        pieces.emplace_back(s);
        expected += s;
    }
    server_send(server, pieces);
    const std::string small = take(server);
    CHECK(small.size() < expected.size() + 64);  // one record's overhead, not hundreds
    client.receive(small);
    CHECK(client.read_all() == expected);

    // Pieces of every size around the record boundary, mixed.
    for (const std::size_t big : {16383u, 16384u, 16385u, 40000u, 1u << 20}) {
        CAPTURE(big);
        const std::string head = "\x82\x7f";
        std::string payload(big, 'x');
        for (std::size_t i = 0; i < payload.size(); i += 7) payload[i] = static_cast<char>('a' + i % 26);
        const std::string tail = "end";
        server_send(server, {head, payload, tail, head});
        const std::string records = take(server);
        const std::size_t plain = head.size() * 2 + payload.size() + tail.size();
        const std::size_t record_count = plain / 16384 + 1;
        CHECK(records.size() <= plain + record_count * 40);
        client.receive(records);
        CHECK(client.read_all() == head + payload + tail + head);
    }
}

TEST_CASE("tls: every split of the client's bytes gives the same result") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const TlsContext context = load(options_for(id));

    SUBCASE("ClientHello") {
        std::size_t hello_size = 1;
        for (std::size_t split = 0; split <= hello_size; ++split) {
            CAPTURE(split);
            Client client(id);
            TlsSession server(context);
            client.step();
            const std::string hello = client.take_output();
            hello_size = hello.size();
            REQUIRE(split <= hello.size());
            std::string plain = server_receive(server, std::string_view(hello).substr(0, split));
            plain += server_receive(server, std::string_view(hello).substr(split));
            CHECK(plain.empty());
            CHECK_FALSE(server.output().empty());  // the server's first flight
            client.receive(take(server));
            handshake(client, server);
        }
    }

    SUBCASE("client Finished followed by application records") {
        std::size_t stream_size = 1;
        for (std::size_t split = 0; split <= stream_size; ++split) {
            CAPTURE(split);
            Client client(id);
            TlsSession server(context);
            client.step();
            server_receive(server, client.take_output());
            client.receive(take(server));
            client.step();  // the client is done and sends its Finished
            REQUIRE(client.done());
            client.write("first record");
            client.write("second");
            const std::string stream = client.take_output();
            stream_size = stream.size();
            std::string plain = server_receive(server, std::string_view(stream).substr(0, split));
            plain += server_receive(server, std::string_view(stream).substr(split));
            CHECK(plain == "first recordsecond");
            CHECK(server.handshake_done());
        }
    }

    SUBCASE("one byte at a time, into a 3-byte plaintext buffer") {
        Client client(id);
        TlsSession server(context);
        client.step();
        const std::string hello = client.take_output();
        for (const char c : hello) server_receive(server, std::string_view(&c, 1), 3);
        client.receive(take(server));
        client.step();
        client.write(std::string(1000, 'q'));
        const std::string stream = client.take_output();
        std::string plain;
        for (const char c : stream) plain += server_receive(server, std::string_view(&c, 1), 3);
        CHECK(plain == std::string(1000, 'q'));
    }
}

TEST_CASE("tls: a tampered record fails the session with a reason") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const TlsContext context = load(options_for(id));
    Client client(id);
    TlsSession server(context);
    handshake(client, server);
    client.write("authentic");
    std::string record = client.take_output();
    record[record.size() - 3] ^= 0x01;
    std::uint8_t buffer[256];
    const TlsDecrypted r =
        server.decrypt({reinterpret_cast<const std::uint8_t*>(record.data()), record.size()}, buffer);
    CHECK(r.status == TlsDecrypted::Status::failed);
    CHECK(r.produced == 0);
    CHECK(contains(r.error, "error:"));
    CHECK(r.error.find('\n') == std::string::npos);
    CHECK_FALSE(server.output().empty());  // the alert that tells the client
}

TEST_CASE("tls: garbage instead of a ClientHello fails with a reason") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const TlsContext context = load(options_for(id));
    TlsSession server(context);
    const std::string_view request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    std::uint8_t buffer[256];
    const TlsDecrypted r =
        server.decrypt({reinterpret_cast<const std::uint8_t*>(request.data()), request.size()}, buffer);
    CHECK(r.status == TlsDecrypted::Status::failed);
    CHECK(contains(r.error, "http request"));
}

TEST_CASE("tls: close_notify in both directions") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const TlsContext context = load(options_for(id));

    SUBCASE("server closes") {
        Client client(id);
        TlsSession server(context);
        handshake(client, server);
        server_send(server, {"last words"});
        server.close();
        client.receive(take(server));
        CHECK(client.read_all() == "last words");
        char byte = 0;
        CHECK(SSL_read(client.ssl.get(), &byte, 1) == 0);
        CHECK(SSL_get_error(client.ssl.get(), 0) == SSL_ERROR_ZERO_RETURN);
    }
    SUBCASE("client closes") {
        Client client(id);
        TlsSession server(context);
        handshake(client, server);
        client.write("bye");
        SSL_shutdown(client.ssl.get());
        const std::string bytes = client.take_output();
        std::uint8_t buffer[64];
        const TlsDecrypted r = server.decrypt({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()},
                                              buffer);
        CHECK(r.status == TlsDecrypted::Status::peer_closed);
        CHECK(std::string(reinterpret_cast<const char*>(buffer), r.produced) == "bye");
    }
}

TEST_CASE("tls: min_version 1.3 refuses a TLS 1.2 client") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    TlsOptions options = options_for(id);
    options.min_version = TlsVersion::tls1_3;
    const TlsContext context = load(options);
    Client client(id, TLS1_2_VERSION);
    TlsSession server(context);
    client.step();
    const std::string hello = client.take_output();
    std::uint8_t buffer[64];
    const TlsDecrypted r = server.decrypt({reinterpret_cast<const std::uint8_t*>(hello.data()), hello.size()}, buffer);
    CHECK(r.status == TlsDecrypted::Status::failed);
    CHECK(contains(r.error, "protocol"));
}

TEST_CASE("tls: loading errors name the file and the reason") {
    TempDir dir;
    const Identity id = make_identity(dir, "server", 1);
    const Identity other = make_identity(dir, "other", 2);

    TlsOptions missing = options_for(id);
    missing.cert = dir.file("nope.crt");
    std::string e = load_error(missing);
    CHECK(contains(e, "certificate chain from " + missing.cert));
    CHECK(contains(e, "No such file"));

    TlsOptions swapped = options_for(id);
    swapped.key = other.key_file;
    e = load_error(swapped);
    CHECK(contains(e, "does not belong to the certificate"));

    TlsOptions not_a_key = options_for(id);
    not_a_key.key = id.cert_file;
    CHECK(contains(load_error(not_a_key), "cannot load the private key from " + id.cert_file));

    TlsOptions bad_ciphers = options_for(id);
    bad_ciphers.ciphers = "NOTHING-THAT-EXISTS";
    CHECK(contains(load_error(bad_ciphers), "selects no usable cipher"));

    TlsOptions bad_ca = options_for(id);
    bad_ca.ca = dir.file("nope-ca.pem");
    CHECK(contains(load_error(bad_ca), "client CAs from"));
}

TEST_CASE("tls: a session outlives the context it was made from; new sessions use the new one") {
    TempDir dir;
    const Identity first = make_identity(dir, "first", 1001);
    const Identity second = make_identity(dir, "second", 1002);
    auto context = std::make_unique<TlsContext>(load(options_for(first)));
    Client old_client(first);
    TlsSession old_session(*context);
    handshake(old_client, old_session);

    // A reload: the old context object goes, the new one takes its place.
    *context = load(options_for(second));

    Client new_client(second);
    TlsSession new_session(*context);
    handshake(new_client, new_session);
    CHECK(old_client.peer_serial() == 1001);
    CHECK(new_client.peer_serial() == 1002);

    old_client.write("still here");
    CHECK(server_receive(old_session, old_client.take_output()) == "still here");
    server_send(old_session, {"so am I"});
    old_client.receive(take(old_session));
    CHECK(old_client.read_all() == "so am I");
}

TEST_CASE("tls: with a CA, client certificates are verified when presented") {
    TempDir dir;
    const Identity server_id = make_identity(dir, "server", 1);
    const Identity trusted = make_identity(dir, "trusted-client", 2);
    const Identity stranger = make_identity(dir, "stranger", 3);
    TlsOptions options = options_for(server_id);
    options.ca = trusted.cert_file;
    const TlsContext context = load(options);

    SUBCASE("trusted certificate") {
        Client client(server_id, 0, &trusted);
        TlsSession server(context);
        handshake(client, server);
    }
    SUBCASE("no certificate") {
        Client client(server_id);
        TlsSession server(context);
        handshake(client, server);
    }
    SUBCASE("untrusted certificate") {
        Client client(server_id, 0, &stranger);
        TlsSession server(context);
        std::string failure;
        for (int round = 0; round < 10 && failure.empty(); ++round) {
            client.step();
            const std::string bytes = client.take_output();
            std::uint8_t buffer[64];
            const TlsDecrypted r =
                server.decrypt({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()}, buffer);
            if (r.status == TlsDecrypted::Status::failed) failure = r.error;
            client.receive(take(server));
        }
        CHECK(contains(failure, "certificate"));
        CHECK_FALSE(server.handshake_done());
    }
}
