// What nodes say to each other through Redis: the channel names and the
// messages on them. Pure functions, no I/O, so that the unit tests and the
// fuzzer reach every byte of it.
//
//   channel  <prefix>:e:<n>:<realm>:<topic>
//            n is the realm name's length, so that no two (realm, topic)
//            pairs share a channel whatever characters they hold.
//   message  <version>\n<origin node>\n<filters>\n<EVENT>
//            version  "1"; a node drops (and logs) a message of a version
//                     newer than the one it speaks, so a rolling upgrade
//                     loses cross-node events instead of misreading them
//            filters  empty, or a JSON object with "exclude" and/or
//                     "eligible", the publication's session-id lists
//            EVENT    the WAMP message exactly as the origin sent it to its
//                     own subscribers; the receiving node queues these bytes
//                     to its subscribers without parsing them again
//
//   channel  <prefix>:ctl       what every node hears: heartbeats, hello,
//                               registrations, goodbyes
//            <prefix>:n:<node>  what is addressed to one node: state,
//                               forwarded CALLs and their answers
//   message  <version>\n<type>\n<body>
//            body     JSON for every type but "reply", whose body is the
//                     CALLRESULT or CALLERROR for the caller's node, under
//                     the call's number there as its call id
//
//   key      <prefix>:p:<n>:<realm>:<uri>   a procedure's claim, "<node>\n<callee>",
//                                            with a TTL its node keeps renewing
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wamp/message.h"

namespace kreuz::cluster {

inline constexpr unsigned wire_version = 1;

std::string event_channel(std::string_view prefix, std::string_view realm, std::string_view topic);

// What comes before the EVENT: the version, origin and filter lines. The
// payload is this header followed by the EVENT's bytes, which the sender
// writes straight after it (RedisLink::publish) instead of copying them here.
std::string event_header(std::string_view origin_node, const wamp::Publish& publication);

struct RemoteEvent {
    std::string_view origin_node;
    std::optional<std::vector<std::string>> exclude;
    std::optional<std::vector<std::string>> eligible;
    std::string_view event_message;  // points into the decoded payload
};

struct DecodeFailure {
    std::string reason;
    bool newer_version = false;  // a newer node's message, not a broken one
};

// The payload must outlive the views of the result.
std::optional<RemoteEvent> decode_event(std::string_view payload, DecodeFailure& failure);

std::string control_channel(std::string_view prefix);
std::string node_channel(std::string_view prefix, std::string_view node);
std::string procedure_key(std::string_view prefix, std::string_view realm, std::string_view uri);

// The version and type lines; the body follows them in the payload.
std::string control_header(std::string_view type);

struct ControlMessage {
    std::string_view type;
    std::string_view body;
};

std::optional<ControlMessage> decode_control(std::string_view payload, DecodeFailure& failure);

}  // namespace kreuz::cluster
