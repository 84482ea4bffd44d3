"""What the Python gRPC peers share: grpcio stubs generated at run time from our proto/, and a
check that stops the script with its message.

The peers add this folder to sys.path and import it; grpc_tools' bundled protoc does the work,
so no protoc needs to be installed.
"""

import os
import sys

from grpc_tools import protoc


def generate(proto_dir, out_dir):
    """Generates the messages and stubs of every .proto under proto_dir into out_dir and makes
    them importable."""
    os.makedirs(out_dir, exist_ok=True)
    files = sorted(
        os.path.relpath(os.path.join(root, name), proto_dir)
        for root, _, names in os.walk(proto_dir)
        for name in names
        if name.endswith(".proto")
    )
    import grpc_tools

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    args = [
        "protoc",
        f"-I{proto_dir}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--grpc_python_out={out_dir}",
    ]
    if protoc.main(args + files) != 0:
        raise SystemExit("protoc failed")
    sys.path.insert(0, out_dir)


def check(condition, message):
    """Stops the peer with a non-zero exit when condition is false."""
    if not condition:
        raise SystemExit(f"check failed: {message}")
