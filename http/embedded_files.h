// The files of www/, compiled into the binary (see cmake/embed_files.cmake).
#pragma once

#include <span>
#include <string_view>

namespace kreuz::http {

struct EmbeddedFile {
    std::string_view path;     // "/index.html"
    std::string_view content;
};

std::span<const EmbeddedFile> embedded_www_files();

}  // namespace kreuz::http
