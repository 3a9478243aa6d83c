// byte_writer FD FILE: writes FILE to the already connected socket FD with one
// write() call per byte. The transport tests use it for "a 16 MiB message
// written one byte at a time": Python's per-call overhead alone would take
// over a minute for 16 million calls, this takes seconds.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: byte_writer FD FILE\n");
        return 2;
    }
    const int fd = std::atoi(argv[1]);
    std::FILE* in = std::fopen(argv[2], "rb");
    if (!in) {
        std::fprintf(stderr, "byte_writer: %s: %s\n", argv[2], std::strerror(errno));
        return 1;
    }
    std::vector<unsigned char> data;
    unsigned char buffer[65536];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) data.insert(data.end(), buffer, buffer + n);
    std::fclose(in);
    // Blocking writes: the kernel holds us back while the server catches up.
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        std::fprintf(stderr, "byte_writer: fd %d: %s\n", fd, std::strerror(errno));
        return 1;
    }
    for (std::size_t i = 0; i < data.size();) {
        const ssize_t w = write(fd, &data[i], 1);
        if (w == 1) {
            ++i;
        } else if (w < 0 && errno != EINTR) {
            std::fprintf(stderr, "byte_writer: write at byte %zu: %s\n", i, std::strerror(errno));
            return 1;
        }
    }
    return 0;
}
