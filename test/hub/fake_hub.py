#!/usr/bin/env python3
"""A small stand-in for the Hugging Face Hub on the loopback, for libapr's
download tests. Standard library only.

    python3 fake_hub.py --gguf NANO.gguf [--hf-dir DIR] [--log FILE] [--lifetime S]

Prints the port it listens on (127.0.0.1) as the first line of stdout, then
serves until killed or until --lifetime seconds have passed (it always stops
by itself). What it serves, like the Hub:

  GET/HEAD /OWNER/REPO/resolve/REV/PATH
      plain files: 200 with ETag = git blob sha1;
      LFS files (*.gguf, *.safetensors, *.bin): 302 to /cdn/MODE/SHA256 with
      X-Linked-Etag (the sha256) and X-Linked-Size, like the Hub's CDN hop
  GET/HEAD /cdn/MODE/SHA256   the bytes, with Range support (206)
      MODE ok: as stored; drop: a request without Range gets the full
      Content-Length but the connection closes halfway; corrupt: one byte
      flipped (the announced sha256 stays that of the right bytes)
  GET /api/models/OWNER/REPO/revision/REV   model info with "siblings"

Repositories (revision "main" or the fake commit below):
  apr-test/nano-GGUF      nano-q4_k_m.gguf (from --gguf) and README.md
  apr-test/blob           data.bin, 1 MiB of a fixed pattern (see pattern())
  apr-test/drop           the same data.bin through the drop mode
  apr-test/corrupt        the same data.bin through the corrupt mode
  apr-test/gated          data.bin; 401 without "Authorization: Bearer test-token",
                          403 with another token
  apr-test/tiny-st        a sharded SafeTensors repository listing
  apr-test/nano           every file of --hf-dir (when given)

Every request is appended to --log as one JSON line:
  {"method", "path", "range", "auth"}
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "test-token"
LFS_SUFFIXES = (".gguf", ".safetensors", ".bin")


def pattern(n):
    """The bytes of data.bin: byte i is (i * 31 + (i >> 8)) mod 256.

    Built 256 bytes at a time (within a block i >> 8 is fixed and i * 31 mod
    256 repeats), so the server starts quickly even on a loaded machine."""
    base = bytes((j * 31) & 0xFF for j in range(256))
    shifted = [base.translate(bytes((k + hi) & 0xFF for k in range(256))) for hi in range(256)]
    return b"".join(shifted[block & 0xFF] for block in range((n + 255) // 256))[:n]


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def tiny_safetensors(name, value):
    header = json.dumps({name: {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    header += b" " * (-len(header) % 8)
    import struct
    return struct.pack("<Q", len(header)) + header + struct.pack("<2f", value, value)


def build_repos(args):
    data = pattern(1 << 20)
    repos = {
        "apr-test/blob": {"files": {"data.bin": data}},
        "apr-test/drop": {"files": {"data.bin": data}, "mode": "drop"},
        "apr-test/corrupt": {"files": {"data.bin": data}, "mode": "corrupt"},
        "apr-test/gated": {"files": {"data.bin": data}, "gated": True},
    }
    with open(args.gguf, "rb") as f:
        repos["apr-test/nano-GGUF"] = {"files": {"nano-q4_k_m.gguf": f.read(),
                                                 "README.md": b"# nano\nA tiny test model.\n"}}
    index = {"metadata": {"total_size": 16},
             "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    repos["apr-test/tiny-st"] = {"files": {
        "config.json": b'{"architectures": ["Qwen2ForCausalLM"]}\n',
        "generation_config.json": b'{"do_sample": false}\n',
        "tokenizer.json": b'{"model": {"type": "BPE"}}\n',
        "tokenizer_config.json": b"{}\n",
        "model.safetensors.index.json": json.dumps(index).encode(),
        "model-00001-of-00002.safetensors": tiny_safetensors("a", 1.0),
        "model-00002-of-00002.safetensors": tiny_safetensors("b", 2.0),
        "unused.safetensors": tiny_safetensors("c", 3.0),
        "README.md": b"not a model file\n",
        "onnx/model.onnx": b"not wanted\n",
    }}
    if args.hf_dir:
        files = {}
        for name in sorted(os.listdir(args.hf_dir)):
            path = os.path.join(args.hf_dir, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    files[name] = f.read()
        repos["apr-test/nano"] = {"files": files}
    blobs = {}
    for repo in repos.values():
        repo.setdefault("mode", "ok")
        for content in repo["files"].values():
            blobs[hashlib.sha256(content).hexdigest()] = content
    return repos, blobs


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-hub/1"

    def log_message(self, *args):
        pass

    def record(self):
        entry = {"method": self.command, "path": self.path, "range": self.headers.get("Range"),
                 "auth": self.headers.get("Authorization")}
        with self.server.log_lock, open(self.server.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, status, headers=None, body=b""):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, status, code, message):
        self.reply(status, {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"},
                   json.dumps({"error": message}).encode())

    def check_access(self, repo):
        if not repo.get("gated"):
            return True
        auth = self.headers.get("Authorization")
        if auth is None:
            self.error(401, "GatedRepo", "Access to model apr-test/gated is restricted. You must be authenticated.")
            return False
        if auth != "Bearer " + TOKEN:
            self.error(403, "GatedRepo", "Access to model apr-test/gated is restricted and you are not in the list.")
            return False
        return True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.server.log_path:
            self.record()
        path = self.path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
            return self.model_info("/".join(parts[2:4]), parts[5])
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[0:2]), parts[3], "/".join(parts[4:]))
        if len(parts) == 3 and parts[0] == "cdn":
            return self.cdn(parts[1], parts[2])
        self.error(404, "NotFound", "no such endpoint")

    def find_repo(self, name, revision):
        repo = self.server.repos.get(name)
        if repo is None:
            self.error(404, "RepositoryNotFound", "Repository not found")
            return None
        if revision not in ("main", COMMIT):
            self.error(404, "RevisionNotFound", "Invalid rev id: " + revision)
            return None
        return repo if self.check_access(repo) else None

    def model_info(self, name, revision):
        repo = self.find_repo(name, revision)
        if repo is None:
            return
        body = json.dumps({"id": name, "sha": COMMIT,
                           "siblings": [{"rfilename": f} for f in sorted(repo["files"])]}).encode()
        self.reply(200, {"Content-Type": "application/json"}, body)

    def resolve(self, name, revision, file):
        repo = self.find_repo(name, revision)
        if repo is None:
            return
        content = repo["files"].get(file)
        if content is None:
            return self.error(404, "EntryNotFound", "Entry not found")
        if file.endswith(LFS_SUFFIXES):
            sha = hashlib.sha256(content).hexdigest()
            return self.reply(302, {"Location": "/cdn/%s/%s" % (repo["mode"], sha), "X-Linked-Etag": '"%s"' % sha,
                                    "X-Linked-Size": len(content), "ETag": '"%s"' % sha, "X-Repo-Commit": COMMIT})
        self.reply(200, {"ETag": '"%s"' % git_blob_sha1(content), "X-Repo-Commit": COMMIT,
                         "Content-Type": "application/octet-stream"}, content)

    def cdn(self, mode, sha):
        content = self.server.blobs.get(sha)
        if content is None:
            return self.error(404, "NotFound", "no such blob")
        if mode == "corrupt":
            content = content[:100] + bytes([content[100] ^ 0xFF]) + content[101:]
        headers = {"ETag": '"cdn-%s"' % sha[:8], "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        wanted = self.headers.get("Range")
        if wanted:
            try:
                start_text, end_text = wanted.removeprefix("bytes=").split("-", 1)
                start = int(start_text)
                end = int(end_text) if end_text else len(content) - 1
            except ValueError:
                return self.error(400, "BadRange", "bad Range header")
            if start >= len(content):
                return self.reply(416, {"Content-Range": "bytes */%d" % len(content)})
            end = min(end, len(content) - 1)
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, len(content))
            return self.reply(206, headers, content[start:end + 1])
        if mode == "drop" and self.command == "GET":
            headers["Content-Length"] = len(content)
            self.send_response(200)
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.end_headers()
            self.wfile.write(content[:len(content) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.reply(200, headers, content)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--hf-dir")
    parser.add_argument("--log")
    parser.add_argument("--lifetime", type=float, default=120.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.repos, server.blobs = build_repos(args)
    server.log_path = args.log
    server.log_lock = threading.Lock()
    # Bounded: whatever happens to the test that started it, it goes away.
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
