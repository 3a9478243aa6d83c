#include "wamp/json_reader.h"

#include <cstdint>
#include <cstring>

namespace kreuz::wamp {

namespace {

using nlohmann::json;

// False when the element holds something the fast path leaves to nlohmann.
bool convert(simdjson::dom::element element, json& out) {
    switch (element.type()) {
        case simdjson::dom::element_type::ARRAY: {
            out = json::array();
            auto& items = out.get_ref<json::array_t&>();
            for (simdjson::dom::element item : simdjson::dom::array(element)) {
                items.emplace_back();
                if (!convert(item, items.back())) return false;
            }
            return true;
        }
        case simdjson::dom::element_type::OBJECT: {
            out = json::object();
            for (simdjson::dom::key_value_pair field : simdjson::dom::object(element)) {
                // operator[] keeps the last of duplicate keys, as nlohmann's parser does.
                if (!convert(field.value, out[std::string(field.key)])) return false;
            }
            return true;
        }
        case simdjson::dom::element_type::STRING:
            out = std::string(std::string_view(element));
            return true;
        case simdjson::dom::element_type::INT64: {
            // nlohmann types a number without a minus sign as unsigned.
            const std::int64_t value = element.get_int64().value_unsafe();
            if (value >= 0) {
                out = static_cast<std::uint64_t>(value);
            } else {
                out = value;
            }
            return true;
        }
        case simdjson::dom::element_type::UINT64:
            out = element.get_uint64().value_unsafe();
            return true;
        case simdjson::dom::element_type::BOOL:
            out = element.get_bool().value_unsafe();
            return true;
        case simdjson::dom::element_type::NULL_VALUE:
            out = nullptr;
            return true;
        case simdjson::dom::element_type::DOUBLE:
            return false;
    }
    return false;
}

}  // namespace

std::optional<json> JsonReader::read(std::string_view text) {
    if (text.size() > fast_path_limit || text.find("\\u") != std::string_view::npos ||
        text.find("-0") != std::string_view::npos) {
        return std::nullopt;
    }
    padded_.resize(text.size() + simdjson::SIMDJSON_PADDING);
    std::memcpy(padded_.data(), text.data(), text.size());
    simdjson::dom::element root;
    if (parser_.parse(padded_.data(), text.size(), false).get(root) != simdjson::SUCCESS) return std::nullopt;
    json value;
    if (!convert(root, value)) return std::nullopt;
    return value;
}

}  // namespace kreuz::wamp
