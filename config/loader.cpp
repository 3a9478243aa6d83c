#include "config/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sstream>
#include <utility>
#include <vector>

#include "config/cross_checks.h"
#include "config/sections.h"
#include "config/yaml_reader.h"

namespace kreuz::config {

namespace {

std::string describe_location(const std::string& file, int line, int column, const std::string& key_path,
                              const std::string& message) {
    std::string out = file;
    // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on a chain of +.
    if (line > 0) out.append(":").append(std::to_string(line)).append(":").append(std::to_string(column));
    out.append(": ");
    if (!key_path.empty()) out.append(key_path).append(": ");
    return out.append(message);
}

// The largest configuration file read.
constexpr std::size_t max_config_file = 16u << 20;

}  // namespace

ConfigError::ConfigError(std::string file_name, int line_number, int column_number, std::string path,
                         const std::string& text)
    : std::runtime_error(describe_location(file_name, line_number, column_number, path, text)),
      file(std::move(file_name)),
      line(line_number),
      column(column_number),
      key_path(std::move(path)),
      message(text) {}

namespace {

// Notes where documents start without building them. yaml-cpp 0.7's LoadAll
// allocates without end on some malformed input (a lone ",": its upstream
// issue 1040), so documents are counted with the event parser, which stops
// after the second, and only the first is loaded.
class DocumentStarts final : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> marks;

    void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

}  // namespace

Config parse_config(std::string_view yaml_text, const std::string& file_name) {
    const std::string text(yaml_text);
    YAML::Node root;
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentStarts starts;
        for (int i = 0; i < 2 && parser.HandleNextDocument(starts); ++i) {
        }
        if (starts.marks.size() > 1) {
            // Only the first would be read; the rest would be ignored without a word.
            const YAML::Mark& mark = starts.marks[1];
            throw ConfigError(file_name, mark.line + 1, mark.column + 1, "",
                              "a configuration is one YAML document, this is the start of a second one");
        }
        if (!starts.marks.empty()) root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        const bool placed = !e.mark.is_null();
        throw ConfigError(file_name, placed ? e.mark.line + 1 : 0, placed ? e.mark.column + 1 : 0, "",
                          "YAML syntax error: " + e.msg);
    }
    return read_config(YamlReader(file_name), root);
}

Config load_config_file(const std::string& path) {
    const FileRead file = read_file(path, max_config_file);
    if (file.failed_step) {
        throw ConfigError(path, 0, 0, "", std::string("cannot ") + file.failed_step + ": " + file.reason);
    }
    if (file.larger) throw ConfigError(path, 0, 0, "", "larger than " + describe_size(max_config_file));
    return parse_config(file.text, path);
}

}  // namespace kreuz::config
