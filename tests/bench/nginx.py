"""nginx on 127.0.0.1 serving the corpus, started and stopped by the
benchmark, with a generated config in the work directory.

Every watch has its own URL: /p/<watch number>/<page>, all mapped onto the
one corpus directory (regex location + alias), so N watches beyond the
corpus size still fetch distinct URLs. ETags are on (nginx default) and
If-Modified-Since is compared with `before` (not the default `exact`),
because urlwatch sends the time of its last check rather than the server's
Last-Modified; with `exact` urlwatch would never see a 304. Responses are
gzip-compressed from pre-compressed .gz files (gzip_static) so nginx spends
no CPU compressing while the tools are measured. The Korean pages get
`Content-Type: text/html; charset=euc-kr`.

The access log has one status code a line, rotated per measured run, so
the benchmark can tell how many 200s and 304s each run really got;
stub_status gives the total request count (the daemon's checks).
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request

CONF = """\
worker_processes 1;
daemon off;
master_process on;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{
    types {{ text/html html; text/css css; }}
    default_type application/octet-stream;
    client_body_temp_path {work}/ngx-tmp/body;
    proxy_temp_path {work}/ngx-tmp/proxy;
    fastcgi_temp_path {work}/ngx-tmp/fastcgi;
    uwsgi_temp_path {work}/ngx-tmp/uwsgi;
    scgi_temp_path {work}/ngx-tmp/scgi;
    log_format st '$status';
    access_log {work}/access.log st buffer=256k;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    etag on;
    if_modified_since before;
    gzip on;
    gzip_static on;
    gzip_vary on;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /nginx_status {{ stub_status; access_log off; }}
        location ~ ^/p/[0-9]+/(kr/.+)$ {{
            alias {root}/$1;
            charset euc-kr;
        }}
        location ~ ^/p/[0-9]+/(.+)$ {{
            alias {root}/$1;
        }}
    }}
}}
"""


def free_port():
    """A free TCP port on 127.0.0.1 (bind port 0, read it, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Nginx:
    def __init__(self, work, root, binary="/usr/sbin/nginx"):
        self.work = work
        self.root = root
        self.binary = binary
        self.proc = None
        self.port = None
        self.nlog = 0

    def start(self):
        os.makedirs(os.path.join(self.work, "ngx-tmp"), exist_ok=True)
        # the worker runs as nobody when we are root: it must read the tree
        os.chmod(self.work, 0o755)
        for attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.work, "nginx.conf")
            with open(conf, "w") as f:
                f.write(CONF.format(work=self.work, root=self.root,
                                    port=self.port))
            self.proc = subprocess.Popen(
                [self.binary, "-p", self.work, "-e",
                 os.path.join(self.work, "nginx-error.log"), "-c", conf],
                stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    self.requests()
                    return self.port
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise SystemExit("nginx did not start; see %s/nginx-error.log"
                         % self.work)

    def url(self, watch_no, rel):
        return "http://127.0.0.1:%d/p/%d/%s" % (self.port, watch_no, rel)

    def requests(self):
        """Total requests handled so far (stub_status), this one included."""
        with urllib.request.urlopen("http://127.0.0.1:%d/nginx_status"
                                    % self.port, timeout=5) as r:
            text = r.read().decode()
        # "Active connections: 1 \nserver accepts handled requests\n a b c"
        return int(text.splitlines()[2].split()[2])

    def take_statuses(self):
        """Status counts logged since the last call ({'200': n, ...})."""
        log = os.path.join(self.work, "access.log")
        self.nlog += 1
        old = "%s.%d" % (log, self.nlog)
        if not os.path.exists(log):
            return {}
        os.rename(log, old)
        # USR1: reopen the logs; the buffer is flushed into the old file
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while not os.path.exists(log) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        counts = {}
        with open(old) as f:
            for line in f:
                line = line.strip()
                if line:
                    counts[line] = counts.get(line, 0) + 1
        os.unlink(old)
        return counts

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
