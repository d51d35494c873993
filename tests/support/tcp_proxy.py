"""A small threaded TCP proxy on 127.0.0.1 for tests that cut a client's connections on purpose.

``TcpProxy(host, port)`` listens on a free local port (``.port``) and forwards every connection
to ``host:port``. ``drop_all()`` closes every live connection at once, both sides, as a broker
restart or a network cut would; new connections keep being accepted. ``close()`` stops it.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)  # so the accept loop notices close()
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._closed = threading.Event()
        self.connections_accepted = 0
        self._acceptor = threading.Thread(target=self._accept_loop, name="tcp-proxy-accept", daemon=True)
        self._acceptor.start()

    def drop_all(self) -> int:
        """Close every live connection (client and upstream side); how many sockets were closed."""
        with self._lock:
            victims, self._live = self._live, set()
        for sock in victims:
            _shut(sock)
        return len(victims)

    def close(self) -> None:
        self._closed.set()
        self._acceptor.join(timeout=2)
        self._listener.close()
        self.drop_all()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _shut(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._live.update((client, upstream))
                self.connections_accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), name="tcp-proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            # One side ended: end the other too, as a real cut would.
            with self._lock:
                self._live.discard(source)
                self._live.discard(sink)
            _shut(source)
            _shut(sink)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already shut by the other pump or the peer
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
