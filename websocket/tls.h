// TLS for wss:// without a thread or a socket BIO of its own: OpenSSL reads
// ciphertext from, and writes it to, memory owned by the session, and the
// connection moves those bytes with libuv like any others.
//
//   socket --ciphertext--> TlsSession::decrypt --plaintext--> HTTP head / frame parser
//   write queue --plaintext--> TlsSession::encrypt --ciphertext--> output() --> socket
//
// The two BIOs are in-memory BIOs of our own rather than BIO_s_mem: the read
// BIO serves the caller's buffer in place, and the write BIO appends straight
// to output(). BIO_s_mem would copy every received byte once more, zero-fill
// before each write, and keep its largest buffer for the connection's life.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "websocket/options.h"

// OpenSSL's types, declared by their struct names so that this header does
// not pull <openssl/ssl.h> into every file that includes connection.h.
struct ssl_ctx_st;
struct ssl_st;
struct bio_st;

namespace kreuz::ws {

// Why a TLS operation failed: one line for the log.
struct TlsError {
    std::string reason;
};

// The certificate, key and settings of one listener. Sessions hold their own
// reference to the OpenSSL context, so replacing a TlsContext (a reload)
// leaves the sessions made from the old one working until they end.
class TlsContext {
public:
    // Reads the files of `options` and checks that key and certificate match.
    static std::variant<TlsContext, TlsError> load(const TlsOptions& options);

    ~TlsContext();
    TlsContext(TlsContext&& other) noexcept;
    TlsContext& operator=(TlsContext&& other) noexcept;
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    ssl_ctx_st* native() const { return ctx_; }

private:
    explicit TlsContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
    ssl_ctx_st* ctx_ = nullptr;
};

struct TlsDecrypted {
    enum class Status : std::uint8_t {
        ok,           // all input used, or the plaintext buffer is full
        peer_closed,  // the peer sent close_notify: no more data will come
        failed,       // fatal: the connection must be dropped
    };
    std::size_t consumed = 0;  // ciphertext bytes taken from the input
    std::size_t produced = 0;  // plaintext bytes written to the output
    Status status = Status::ok;
    std::string error;  // with failed
};

// The server side of one TLS connection.
class TlsSession {
public:
    explicit TlsSession(const TlsContext& context);
    ~TlsSession();
    // The BIOs point at this object.
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Runs the handshake and decrypts records from `ciphertext` into
    // `plaintext` until the input is used up or the output is full. A record
    // cut off at the end of the input is kept inside OpenSSL; when the output
    // filled first (produced == plaintext.size()), call again with the rest of
    // the input, which may be empty, for more. Anything TLS has to answer
    // (handshake messages, alerts, session tickets) is appended to output().
    TlsDecrypted decrypt(std::span<const std::uint8_t> ciphertext, std::span<std::uint8_t> plaintext);

    // Encrypts the concatenation of `pieces` and appends the records to
    // output(). Small pieces are gathered into full-size records, so a batch
    // of frame headers and short messages costs a few records, not one each.
    // Only after handshake_done().
    std::variant<std::monostate, TlsError> encrypt(std::span<const std::string_view> pieces);

    // Appends close_notify to output(). Only after handshake_done().
    void close();

    bool handshake_done() const;
    // "TLSv1.3 TLS_AES_256_GCM_SHA384", for the log.
    std::string description() const;

    // Ciphertext waiting to be sent. The caller removes what it has sent.
    std::string& output() { return output_; }

private:
    static int bio_write(bio_st* bio, const char* data, std::size_t size, std::size_t* written);
    static int bio_read(bio_st* bio, char* data, std::size_t size, std::size_t* read);

    std::variant<std::monostate, TlsError> write_records(const std::uint8_t* data, std::size_t size);

    ssl_st* ssl_ = nullptr;
    // What the read BIO hands to OpenSSL: the current decrypt() call's input.
    const std::uint8_t* input_ = nullptr;
    std::size_t input_size_ = 0;
    std::string output_;
};

}  // namespace kreuz::ws
