"""International host names, end to end.

`url: http://한국.test/news.html` is fetched in the C locale (no UTF-8
locale set up at all): the host goes out as its A-label
(xn--3e0b707e.test), and the page's relative links come back in messages
with the host as the user wrote it, not percent-encoded or in Punycode.
The loopback page server stands in as the HTTP proxy (http_proxy), so the
name needs no DNS and no /etc/hosts entry; the proxy sees the host in the
request line and the Host header.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import kwtest  # noqa: E402

HOST = "한국.test"
ACE = "xn--3e0b707e.test"


def page(items):
    return "<html><body><ul>%s</ul></body></html>" % "".join(
        '<li><a href="/p/%s">%s</a></li>' % (t, t) for t in items)


class Idn(kwtest.KwTestCase):

    def test_an_idn_url_works_and_its_links_keep_the_unicode_host(self):
        pages = self.start_pages()
        self.write_page("news.html", page(["one"]))
        self.write_config("""
state_dir: %s
kakao: {sink: stdout}
defaults: {timeout: 5s}
watches:
  - {name: news, url: 'http://%s/news.html', xpath: //li/a}
""" % (self.state, HOST))
        env = {"http_proxy": pages.base, "LANG": "C", "LC_ALL": "C"}
        for k in ("no_proxy", "NO_PROXY", "HTTP_PROXY", "all_proxy",
                  "ALL_PROXY"):
            env[k] = ""
        p = self.kw("once", env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("news: baseline stored (1 items)", p.stdout)
        self.write_page("news.html", page(["one", "two"]))
        p = self.kw("once", env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        msgs = kwtest.json_lines(p.stdout)
        self.assertEqual(len(msgs), 1, p.stdout)
        text = repr(msgs[0])
        self.assertIn("http://%s/p/two" % HOST, text)
        self.assertNotIn(ACE, text)
        self.assertNotIn("%ED", text.upper())
        # what the server saw: the A-label, in the request line
        seen = pages.get_json("/count")
        self.assertIn("/news.html", seen)


if __name__ == "__main__":
    kwtest.main()
