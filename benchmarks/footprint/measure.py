#!/usr/bin/python3
"""Footprint of vsock HTTP servers, measured where vsock_loopback is (the sandbox VM): for each server, the
time from exec to the first HTTP response over vsock (GET /healthz), then its RSS after 20 more requests.

Every server runs once untimed (so every binary is in the page cache), then ROUNDS rounds, each in a rotated
order (reversed every other round), each start a fresh process. Writes one JSON line per measurement to OUT.

  measure.py OUT ROUNDS NAME=COMMAND... (COMMAND is split on spaces; {port} is replaced by the vsock port)
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

CID_LOCAL = 1
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def get_once(port):
    """One GET /healthz over vsock; the status line, or None when nothing answers yet."""
    with socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM) as s:
        try:
            s.connect((CID_LOCAL, port))
            s.sendall(REQUEST)
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError, TimeoutError):
            return None
    return data.split(b"\r\n", 1)[0].decode() if data else None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def run(name, command, port, timeout_s=120):
    argv = [a.replace("{port}", str(port)) for a in command.split(" ")]
    start = time.monotonic()
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            status = get_once(port)
            if status is not None:
                first = time.monotonic() - start
                break
            if server.poll() is not None:
                raise RuntimeError(f"{name} exited with {server.returncode} before answering")
            if time.monotonic() - start > timeout_s:
                raise RuntimeError(f"{name} did not answer within {timeout_s} s")
            time.sleep(0.005)  # the probe must not take the CPU the server starts on
        if not status.endswith(" 200 OK"):
            raise RuntimeError(f"{name}: GET /healthz answered {status}")
        for _ in range(20):
            if get_once(port) is None:
                raise RuntimeError(f"{name} stopped answering")
        return {"server": name, "first_response_s": round(first, 4), "rss_kib": rss_kib(server.pid)}
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()


def main():
    out, rounds, specs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    servers = [tuple(s.split("=", 1)) for s in specs]
    port = 30000
    with open(out, "a") as results:
        for rnd in range(rounds + 1):  # round 0 warms the page cache and is not kept
            # Rotated, and reversed every other round, so that no server always follows the same one (a killed
            # JIT process leaves work behind that slowed whatever started next).
            order = servers[rnd % len(servers):] + servers[:rnd % len(servers)]
            if rnd % 2:
                order.reverse()
            for name, command in order:
                port += 2  # a fresh port pair each start (the dashboard takes port + 1 too)
                m = run(name, command, port)
                m["round"] = rnd
                print(f"footprint: round {rnd} {name}: first response {m['first_response_s']:.3f} s, RSS {m['rss_kib'] / 1024:.1f} MiB", flush=True)
                if rnd > 0:
                    results.write(json.dumps(m) + "\n")
                time.sleep(1)  # let the killed server's memory be freed before the next one starts


if __name__ == "__main__":
    main()
