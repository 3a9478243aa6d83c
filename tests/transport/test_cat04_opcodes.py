"""Category 4: reserved opcodes 3-7 (data) and 11-15 (control) fail with 1002."""
import pytest

from wsraw import OP_PING, OP_TEXT, build_frame


RESERVED = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]


@pytest.mark.parametrize("opcode", RESERVED)
def test_reserved_opcode_is_1002(server, opcode):
    c = server.ws()
    c.send_frame(opcode, b"")
    c.expect_close(1002)


@pytest.mark.parametrize("opcode", RESERVED)
def test_reserved_opcode_with_payload_after_text(server, opcode):
    c = server.ws()
    c.send(build_frame(OP_TEXT, b"Hello, world!") + build_frame(opcode, b"reserved opcode payload")
           + build_frame(OP_PING, b""))
    c.expect_message(OP_TEXT, b"Hello, world!")
    c.expect_close(1002)


@pytest.mark.parametrize("opcode", [3, 11])
def test_reserved_opcode_not_final(server, opcode):
    c = server.ws()
    c.send_frame(opcode, b"x", fin=False)
    c.expect_close(1002)
