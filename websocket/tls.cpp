#include "websocket/tls.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <utility>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace kreuz::ws {

namespace {

// TLS 1.2 only; TLS 1.3 suites are OpenSSL's defaults, all of them AEAD.
// Forward secrecy and AEAD: what every client of the last decade offers.
constexpr const char* default_ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

// The largest plaintext of one record.
constexpr std::size_t record_size = SSL3_RT_MAX_PLAIN_LENGTH;

// The earliest error on OpenSSL's queue is the cause, the later ones are its
// consequences; the queue is emptied so that it cannot mislead the next call.
std::string openssl_reason(const char* fallback) {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return fallback;
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

TlsError fail_with(std::string what) {
    return {std::move(what) + ": " + openssl_reason("no reason given")};
}

long bio_ctrl(BIO*, int command, long, void*) {
    // OpenSSL flushes after each handshake flight and treats a failed flush
    // as a failed handshake; our writes are in memory already.
    return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int bio_create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

// Created once and kept for the life of the process, as OpenSSL's own are.
// A constructor of TlsSession initializes it on first use.
BIO_METHOD* make_bio_method(int (*write)(BIO*, const char*, std::size_t, std::size_t*),
                            int (*read)(BIO*, char*, std::size_t, std::size_t*)) {
    BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "kreuz session memory");
    if (!method) throw std::bad_alloc();
    BIO_meth_set_write_ex(method, write);
    BIO_meth_set_read_ex(method, read);
    BIO_meth_set_ctrl(method, bio_ctrl);
    BIO_meth_set_create(method, bio_create);
    return method;
}

}  // namespace

// ---------------------------------------------------------------- TlsContext

std::variant<TlsContext, TlsError> TlsContext::load(const TlsOptions& options) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
    if (!raw) return fail_with("cannot create a TLS context");
    TlsContext context(raw);  // frees it on every early return below

    SSL_CTX_set_min_proto_version(raw, options.min_version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    // Renegotiation lets a client make the server redo expensive handshakes
    // on one connection; nothing a WebSocket needs.
    SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    // OpenSSL's 16 KiB read and write buffers are freed while a connection
    // is idle: a router holds many connections that are silent most of the time.
    SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS);
    // Resumption works with tickets, which the client stores; the server keeps
    // no per-client cache. The ticket key is per context, so after a reload old
    // tickets fall back to a full handshake.
    SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
    static constexpr unsigned char session_context[] = "kreuz";
    SSL_CTX_set_session_id_context(raw, session_context, sizeof session_context - 1);
    // An encrypted key would make OpenSSL prompt on the terminal, from inside
    // the event loop on a reload; refusing the passphrase makes it an error.
    SSL_CTX_set_default_passwd_cb(raw, [](char*, int, int, void*) { return 0; });

    const std::string ciphers = options.ciphers.empty() ? default_ciphers : options.ciphers;
    if (SSL_CTX_set_cipher_list(raw, ciphers.c_str()) != 1) {
        return fail_with("cipher list \"" + ciphers + "\" selects no usable cipher");
    }
    if (SSL_CTX_use_certificate_chain_file(raw, options.cert.c_str()) != 1) {
        return fail_with("cannot load the certificate chain from " + options.cert);
    }
    // Loading the key also checks it against the certificate.
    if (SSL_CTX_use_PrivateKey_file(raw, options.key.c_str(), SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
            return fail_with("the key in " + options.key + " does not belong to the certificate in " + options.cert);
        }
        return fail_with("cannot load the private key from " + options.key);
    }
    if (!options.ca.empty()) {
        if (SSL_CTX_load_verify_locations(raw, options.ca.c_str(), nullptr) != 1) {
            return fail_with("cannot load the client CAs from " + options.ca);
        }
        // The CA names go into the certificate request, so that a client with
        // several certificates can pick the right one.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca.c_str());
        if (!names) return fail_with("no CA certificate in " + options.ca);
        SSL_CTX_set_client_CA_list(raw, names);
        // Request a certificate and verify one that is presented; a client
        // without one is still served.
        SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
    }
    return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsContext::TlsContext(TlsContext&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

TlsContext& TlsContext::operator=(TlsContext&& other) noexcept {
    std::swap(ctx_, other.ctx_);
    return *this;
}

// ---------------------------------------------------------------- TlsSession

int TlsSession::bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
    static_cast<TlsSession*>(BIO_get_data(bio))->output_.append(data, size);
    *written = size;
    return 1;
}

int TlsSession::bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
    auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    if (self->input_size_ == 0) {
        // Not the end of the stream: more may come with the next read.
        BIO_set_retry_read(bio);
        *read = 0;
        return 0;
    }
    const std::size_t n = std::min(size, self->input_size_);
    std::memcpy(data, self->input_, n);
    self->input_ += n;
    self->input_size_ -= n;
    *read = n;
    return 1;
}

TlsSession::TlsSession(const TlsContext& context) {
    static BIO_METHOD* const method = make_bio_method(bio_write, bio_read);
    ssl_ = SSL_new(context.native());  // takes its own reference to the context
    BIO* rbio = BIO_new(method);
    BIO* wbio = BIO_new(method);
    if (!ssl_ || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl_);
        throw std::bad_alloc();
    }
    BIO_set_data(rbio, this);
    BIO_set_data(wbio, this);
    SSL_set_bio(ssl_, rbio, wbio);
    SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

bool TlsSession::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }

std::string TlsSession::description() const {
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
}

TlsDecrypted TlsSession::decrypt(std::span<const std::uint8_t> ciphertext, std::span<std::uint8_t> plaintext) {
    input_ = ciphertext.data();
    input_size_ = ciphertext.size();
    TlsDecrypted result;
    // SSL_get_error reads the thread's error queue, which must be empty before the call.
    ERR_clear_error();
    while (result.produced < plaintext.size()) {
        std::size_t n = 0;
        const int rc = SSL_read_ex(ssl_, plaintext.data() + result.produced, plaintext.size() - result.produced, &n);
        if (rc == 1) {
            result.produced += n;
            continue;
        }
        const int error = SSL_get_error(ssl_, rc);
        if (error == SSL_ERROR_WANT_READ) break;
        if (error == SSL_ERROR_ZERO_RETURN) {
            result.status = TlsDecrypted::Status::peer_closed;
            break;
        }
        result.status = TlsDecrypted::Status::failed;
        result.error = openssl_reason("TLS failure without a reason");
        const long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) result.error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
        break;
    }
    result.consumed = ciphertext.size() - input_size_;
    input_ = nullptr;
    input_size_ = 0;
    return result;
}

std::variant<std::monostate, TlsError> TlsSession::write_records(const std::uint8_t* data, std::size_t size) {
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, data, size, &written) == 1) return {};
    return TlsError{openssl_reason("TLS write failed without a reason")};
}

std::variant<std::monostate, TlsError> TlsSession::encrypt(std::span<const std::string_view> pieces) {
    // Pieces are gathered here into full records. One loop has one thread,
    // so every session of it shares the buffer; nothing stays in it between calls.
    thread_local std::array<std::uint8_t, record_size> stage;
    std::size_t staged = 0;
    ERR_clear_error();
    for (const std::string_view piece : pieces) {
        const auto* data = reinterpret_cast<const std::uint8_t*>(piece.data());
        std::size_t size = piece.size();
        if (staged + size < record_size) {
            std::memcpy(stage.data() + staged, data, size);
            staged += size;
            continue;
        }
        if (staged > 0) {
            const std::size_t fill = record_size - staged;
            std::memcpy(stage.data() + staged, data, fill);
            if (auto r = write_records(stage.data(), record_size); r.index() != 0) return r;
            data += fill;
            size -= fill;
        }
        // Whole records go straight from the piece, without the copy.
        const std::size_t whole = size - size % record_size;
        if (whole > 0) {
            if (auto r = write_records(data, whole); r.index() != 0) return r;
        }
        staged = size - whole;
        std::memcpy(stage.data(), data + whole, staged);
    }
    if (staged > 0) return write_records(stage.data(), staged);
    return {};
}

void TlsSession::close() {
    ERR_clear_error();
    // Only sends our close_notify; the connection is dropped without waiting
    // for the peer's, which RFC 8446 6.1 allows.
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

}  // namespace kreuz::ws
