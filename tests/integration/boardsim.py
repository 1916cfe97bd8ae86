"""boardsim: a gnuboard-style Korean notice board for the identity tests.

A Board holds posts (id, title, comment count) and pinned notices and
renders the list page the way real boards do: the comment count inside the
title link ("특가 [3]"), the paging and search state in every link
(`&page=1&sca=&sfl=&stx=`), pinned notices above the posts, newest first,
`page_size` posts on page 1. Tests change the board (a new post, a deletion,
an edit, a new comment, pin/unpin, another link style) and serve the page
from the loopback page server. Python 3 stdlib only.
"""
import html

XPATH = "//td[@class='subject']/a"
BASE = "https://board.example/bbs/board.php?bo_table=deal"


class Post:
    def __init__(self, pid, title, comments=0):
        self.pid = pid
        self.title = title
        self.comments = comments


class Board:
    def __init__(self, page_size=5):
        self.page_size = page_size
        self.posts = []       # newest first
        self.notices = []     # pinned, shown above the posts
        self.next_id = 101
        # what real boards put in links besides wr_id
        self.link_extra = "&page=1"
        self.reverse_params = False

    def post(self, title, comments=0):
        """A new post on top; returns it."""
        p = Post(self.next_id, title, comments)
        self.next_id += 1
        self.posts.insert(0, p)
        return p

    def find(self, pid):
        for p in self.posts + self.notices:
            if p.pid == pid:
                return p
        raise KeyError(pid)

    def delete(self, pid):
        self.posts = [p for p in self.posts if p.pid != pid]
        self.notices = [p for p in self.notices if p.pid != pid]

    def pin(self, pid):
        p = self.find(pid)
        self.posts = [q for q in self.posts if q.pid != pid]
        self.notices.append(p)

    def unpin(self, pid):
        p = self.find(pid)
        self.notices = [q for q in self.notices if q.pid != pid]
        self.posts.append(p)
        self.posts.sort(key=lambda q: -q.pid)

    def link(self, pid):
        extra, _, frag = self.link_extra.partition("#")
        frag = "#" + frag if frag else ""
        if self.reverse_params:
            return "https://board.example/bbs/board.php?wr_id=%d%s" \
                "&bo_table=deal%s" % (pid, extra, frag)
        return "%s&wr_id=%d%s%s" % (BASE, pid, extra, frag)

    def shown(self):
        """The posts on page 1, notices first: what a user sees."""
        return self.notices + self.posts[:self.page_size]

    def row(self, p, cls):
        count = (' <span class="cnt">[%d]</span>' % p.comments
                 if p.comments else "")
        return ('<tr class="%s"><td class="num">%d</td>'
                '<td class="subject"><a href="%s">%s%s</a></td>'
                '<td class="name">작성자</td></tr>'
                % (cls, p.pid, html.escape(self.link(p.pid)),
                   html.escape(p.title), count))

    def render(self):
        rows = [self.row(p, "notice") for p in self.notices]
        rows += [self.row(p, "post") for p in self.posts[:self.page_size]]
        return """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>특가 게시판</title></head>
<body><h1>특가 게시판</h1>
<table class="board"><thead><tr><th>번호</th><th>제목</th><th>글쓴이</th></tr>
</thead>
%s
</table>
<div class="paging"><a href="?bo_table=deal&page=1">1</a>
<a href="?bo_table=deal&page=2">2</a></div>
</body></html>
""" % "\n".join(rows)


def text_of(p):
    """The item text kakaowatch extracts for a post."""
    return p.title + (" [%d]" % p.comments if p.comments else "")
