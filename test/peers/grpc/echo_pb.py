# The two messages of grpc.examples.echo (echo.proto), EchoRequest and
# EchoResponse, are the same on the wire: field 1, a string. They are encoded
# here by hand so the Python peers need grpcio only (no grpcio-tools, no
# generated stubs); the methods are served and called through grpcio's
# generic handlers and multi-callables with these as (de)serializers.

SERVICE = 'grpc.examples.echo.Echo'


def encode(message: str) -> bytes:
    data = message.encode('utf-8')
    if not data:
        return b''  # proto3 leaves a default (empty) field out
    out = bytearray(b'\x0a')  # field 1, wire type 2 (length-delimited)
    n = len(data)
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out + data)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def decode(buf: bytes) -> str:
    """Field 1 (the last one, as protobuf merges); other fields are skipped."""
    message = ''
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = _varint(buf, i)
            if field == 1:
                message = buf[i:i + n].decode('utf-8')
            i += n
        else:
            raise ValueError(f'unsupported wire type {wire}')
    return message
