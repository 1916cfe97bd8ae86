"""The benchmark's page corpus: real HTML documentation shipped in Debian
packages, plus generated Korean (EUC-KR) board pages, copied into a served
directory with a pre-compressed .gz beside each page (nginx gzip_static), and
the "change 10% of the pages" operation.

Every page has an XPath that a user would plausibly watch it with and that
matches at least one node (checked with the libxml2 floor program, so the
check parses exactly as kakaowatch does).
"""

import gzip
import os
import random
import subprocess

# (source directory, Debian package, XPath, kind: the served directory and
# how a change is inserted)
DOC_SOURCES = [
    ("/usr/share/doc/python3.11/html", "python3-doc",
     '//div[@role="main"]//h2 | //div[@role="main"]//h3', "py"),
    ("/usr/share/doc/postgresql-doc-15/html", "postgresql-doc-15",
     '//h2 | //h3', "pg"),
]
KR_XPATH = '//table[@class="board-list"]//td[@class="subject"]/a'
KR_CHARSET = "euc-kr"

MIN_BYTES = 10 * 1024
MAX_BYTES = 500 * 1024

# ---------------------------------------------------------------- Korean pages

_KR_PREFIX = ["[학사]", "[장학]", "[취업]", "[행사]", "[공지]", "[모집]",
              "[국제]", "[도서관]", "[생활관]", "[입학]"]
_KR_SUBJECT = [
    "2학기 수강신청", "국가장학금 2차 신청", "교내 근로장학생", "졸업논문 제출",
    "하계 계절학기", "학위수여식", "현장실습 참여 학생", "교환학생 파견",
    "도서관 열람실 이용", "기숙사 입사", "학생증 재발급", "전공 설명회",
    "채용 박람회", "공모전 참가자", "멘토링 프로그램", "외국어 능력 시험",
    "안전 교육 이수", "등록금 분할 납부", "휴학 및 복학", "성적 이의 신청",
    "캡스톤 디자인 경진대회", "창업 동아리", "봉사활동 인증", "건강검진",
]
_KR_SUFFIX = ["안내", "공고", "모집", "결과 발표", "일정 변경 안내",
              "신청 방법 안내", "연장 안내", "유의사항", "설명회 개최"]
_KR_WRITER = ["학사지원팀", "장학복지팀", "취업지원센터", "국제교류처",
              "중앙도서관", "생활관 행정실", "입학처", "총무팀"]
_KR_BOARDS = ["공지사항", "학사공지", "장학공지", "취업정보", "행사안내"]


def _kr_title(rng):
    return "%s %d학년도 %s %s" % (rng.choice(_KR_PREFIX),
                                rng.choice([2023, 2024, 2025]),
                                rng.choice(_KR_SUBJECT),
                                rng.choice(_KR_SUFFIX))


def _kr_row(no, title, writer, date, hits, comments):
    cmt = ' <span class="cmt">[%d]</span>' % comments if comments else ""
    return ('<tr class="row"><td class="num">%d</td>'
            '<td class="subject"><a href="view.php?board=notice&amp;no=%d'
            '&amp;page=1" title="%s">%s</a>%s</td>'
            '<td class="writer">%s</td><td class="date">%s</td>'
            '<td class="hit">%d</td></tr>\n'
            % (no, no, title, title, cmt, writer, date, hits))


def kr_page(index, rows):
    """A realistic Korean university notice board list page (str)."""
    rng = random.Random(1000 + index)
    board = _KR_BOARDS[index % len(_KR_BOARDS)]
    out = ['<!DOCTYPE html>\n<html lang="ko">\n<head>\n'
           '<meta http-equiv="Content-Type" content="text/html; '
           'charset=euc-kr">\n'
           '<title>%s - 한빛대학교</title>\n'
           '<link rel="stylesheet" href="/css/board.css">\n'
           '</head>\n<body>\n<div id="wrap">\n<div id="header">'
           '<h1><a href="/">한빛대학교</a></h1><ul class="gnb">' % board]
    for menu_no, menu in enumerate(["대학소개", "입학안내", "학사정보",
                                    "대학생활", "커뮤니티"]):
        out.append('<li><a href="/%s">%s</a></li>'
                   % (menu_no, menu))
    out.append('</ul></div>\n<div id="content">\n<h2>%s</h2>\n'
               '<p class="total">전체 <strong>%d</strong>건</p>\n'
               '<table class="board-list" summary="%s 목록">\n'
               '<thead><tr><th>번호</th><th>제목</th><th>작성자</th>'
               '<th>작성일</th><th>조회</th></tr></thead>\n<tbody>\n'
               % (board, rows, board))
    no = 5000 + rows
    for r in range(rows):
        date = "2024.%02d.%02d" % (12 - (r // 28) % 12, 28 - r % 28)
        out.append(_kr_row(no - r, _kr_title(rng), rng.choice(_KR_WRITER),
                           date, rng.randrange(30, 5000),
                           rng.choice([0, 0, 0, 1, 2, 5])))
    out.append('</tbody>\n</table>\n<div class="paging">')
    for p in range(1, 11):
        out.append('<a href="?page=%d">%d</a> ' % (p, p))
    out.append('</div>\n</div>\n<div id="footer"><address>'
               '(12345) 서울특별시 한빛구 한빛로 1 한빛대학교 '
               '대표전화 02-123-4567</address></div>\n</div>\n'
               '</body>\n</html>\n')
    return "".join(out)


# --------------------------------------------------------------------- corpus

class Page:
    """One corpus page: where it is served from and how to watch it."""

    def __init__(self, rel, kind, xpath, orig, encoding=None):
        self.rel = rel            # path under the served root
        self.kind = kind          # python | postgres | kr
        self.xpath = xpath
        self.orig = orig          # original file (read-only copy)
        self.encoding = encoding  # None, or the charset nginx announces
        self.size = os.path.getsize(orig)


def _write_served(root, page, data, mtime, gz=None):
    """Write the page and its .gz under `root`, both with `mtime`."""
    path = os.path.join(root, page.rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if gz is None:
        gz = gzip.compress(data, compresslevel=6, mtime=0)
    with open(path, "wb") as f:
        f.write(data)
    with open(path + ".gz", "wb") as f:
        f.write(gz)
    os.utime(path, (mtime, mtime))
    os.utime(path + ".gz", (mtime, mtime))


def _candidates():
    for src, pkg, xpath, kind in DOC_SOURCES:
        if not os.path.isdir(src):
            raise SystemExit("corpus: %s missing (install %s)" % (src, pkg))
        for dirpath, dirnames, filenames in os.walk(src, followlinks=True):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith(".html"):
                    continue
                full = os.path.join(dirpath, fn)
                size = os.path.getsize(full)
                if MIN_BYTES <= size <= MAX_BYTES:
                    rel = os.path.join(kind, os.path.relpath(full, src))
                    yield Page(rel, kind, xpath, full)


def _match_counts(floor_bin, workdir, pages):
    listfile = os.path.join(workdir, "check.list")
    write_floor_list(listfile, [(p.orig, p) for p in pages])
    out = subprocess.run([floor_bin, "-c", listfile], check=True,
                         capture_output=True, text=True).stdout
    counts = {}
    for line in out.splitlines():
        n, path = line.split("\t", 2)[:2]
        counts[path] = int(n)
    return counts


def write_floor_list(listfile, entries):
    """entries: (file path, Page); the floor program's list format."""
    with open(listfile, "w") as f:
        for path, page in entries:
            f.write("%s\t%s\t%s\n" % (path, page.encoding or "-",
                                      page.xpath))


class Corpus:
    """The pages, the served root, and the change operation."""

    def __init__(self, workdir, floor_bin, kr_pages=16, seed=42):
        self.workdir = workdir
        self.root = os.path.join(workdir, "www")
        self.origdir = os.path.join(workdir, "orig")
        self.floor_bin = floor_bin
        self.base_mtime = 1700000000  # all pages "old" after a restore
        self.version = 0
        pages = list(_candidates())
        pages.extend(self._make_kr(kr_pages))
        counts = _match_counts(floor_bin, workdir, pages)
        self.matches = counts
        self.dropped = [p for p in pages if counts.get(p.orig, 0) == 0]
        pages = [p for p in pages if counts.get(p.orig, 0) > 0]
        # a fixed shuffle so that any prefix mixes the sources
        random.Random(seed).shuffle(pages)
        self.pages = pages
        self.origdata = {}
        self.origgz = {}
        for p in pages:
            with open(p.orig, "rb") as f:
                self.origdata[p.rel] = f.read()
            self.origgz[p.rel] = gzip.compress(self.origdata[p.rel],
                                               compresslevel=6, mtime=0)
        self.dirty = set(p.rel for p in pages)
        self.restore()
        self._check_change()

    def _make_kr(self, n):
        os.makedirs(os.path.join(self.origdir, "kr"), exist_ok=True)
        out = []
        # rows from ~40 to ~2000: about 10 KB to about 480 KB in EUC-KR
        for i in range(n):
            rows = int(40 * (50 ** (i / max(1, n - 1))))
            data = kr_page(i, rows).encode(KR_CHARSET)
            if len(data) > MAX_BYTES:
                continue
            path = os.path.join(self.origdir, "kr", "board%02d.html" % i)
            with open(path, "wb") as f:
                f.write(data)
            out.append(Page("kr/board%02d.html" % i, "kr", KR_XPATH, path,
                            KR_CHARSET))
        return out

    def restore(self):
        """Serve every page as shipped, with the same old mtime."""
        for p in self.pages:
            if p.rel in self.dirty:
                _write_served(self.root, p, self.origdata[p.rel],
                              self.base_mtime, self.origgz[p.rel])
        self.dirty.clear()

    @staticmethod
    def changed_bytes(page, data, tag):
        """`data` with one new item that `page.xpath` matches."""
        if page.kind == "py":
            marker = b'role="main">'
            snippet = ('<section id="bench-%s"><h2>Benchmark news %s'
                       '<a class="headerlink" href="#bench-%s">\u00b6</a>'
                       '</h2></section>' % (tag, tag, tag)).encode()
        elif page.kind == "pg":
            marker = b"<body"
            snippet = ('<div class="sect1"><h2 class="title" id="bench-%s">'
                       'Benchmark news %s</h2></div>' % (tag, tag)).encode()
        else:
            marker = b"<tbody>\n"
            snippet = _kr_row(90000, "[공지] 벤치마크 새 글 %s 안내" % tag,
                              "총무팀", "2025.01.01", 1, 0).encode(KR_CHARSET)
        at = data.find(marker)
        if at < 0:
            raise RuntimeError("no change marker in " + page.rel)
        if marker == b"<body":
            at = data.index(b">", at) + 1
        else:
            at += len(marker)
        return data[:at] + snippet + data[at:]

    def change(self, pages, mtime):
        """Give each of `pages` one new item; returns the version tag."""
        self.version += 1
        tag = "v%d" % self.version
        for p in pages:
            _write_served(self.root, p,
                          self.changed_bytes(p, self.origdata[p.rel], tag),
                          mtime)
            self.dirty.add(p.rel)
        return tag

    def _check_change(self):
        """A changed page must gain exactly one match (a sample of each
        kind is checked: the insertion is the same for all pages of one
        kind)."""
        chk = os.path.join(self.workdir, "changecheck")
        entries = []
        sample = [p for i, p in enumerate(self.pages)
                  if i % 7 == 0 or p.kind == "kr"]
        for i, p in enumerate(sample):
            path = os.path.join(chk, "%d.html" % i)
            os.makedirs(chk, exist_ok=True)
            with open(path, "wb") as f:
                f.write(self.changed_bytes(p, self.origdata[p.rel], "x"))
            entries.append(path)
        listfile = os.path.join(self.workdir, "changecheck.list")
        write_floor_list(listfile, zip(entries, sample))
        out = subprocess.run([self.floor_bin, "-c", listfile], check=True,
                             capture_output=True, text=True).stdout
        bad = []
        for line, p in zip(out.splitlines(), sample):
            if int(line.split("\t", 1)[0]) != self.matches[p.orig] + 1:
                bad.append(p.rel)
        for path in entries:
            os.unlink(path)
        os.rmdir(chk)
        if bad:
            raise SystemExit("corpus: change does not add an item to: "
                             + ", ".join(bad[:5]))

    def summary(self):
        kinds = {}
        for p in self.pages:
            k = kinds.setdefault(p.kind, [0, 0])
            k[0] += 1
            k[1] += p.size
        return kinds
