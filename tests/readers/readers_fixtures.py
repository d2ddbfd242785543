"""Real test files, generated at test time (nothing binary is committed).

The main PDF is drawn line by line on a reportlab canvas so the tests know exactly what is on
each page: a running header, a footer with "Page n of 3", a numbered paragraph that
continues from page 1 onto page 2, a word hyphenated at a line end ("safe-" / "guarding"),
a real hyphen at a line end ("multi-" / "agency", written "multi-agency" elsewhere too),
headings, bullets, a footnote and PDF metadata.
"""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest

HEADER = "Child Safeguarding Practice Review: Child Q"
FOOTER = "Northshire Safeguarding Children Partnership"

# Each page: list of (kind, content).  kind "title"/"heading": one line in large/bold type;
# "para": text wrapped at ~88 characters, or a list of exact lines; "gap": extra space;
# "note": footnote lines in small type at the foot of the page.
PAGES = [
    [
        ("title", "Learning from the review of Child Q"),
        ("heading", "Introduction"),
        (
            "para",
            "1. This review was commissioned by the Northshire Safeguarding Children "
            "Partnership after Child Q, aged four, was admitted to hospital with injuries "
            "that were not explained by the account given by the adults caring for her.",
        ),
        (
            "para",
            "2. The review considered the period from the pregnancy to the admission. It drew "
            "on chronologies from health, police, education and children's social care and "
            "on conversations with the practitioners who knew the family best.",
        ),
        (
            "para",
            [
                "3. During the spring the health visitor, the nursery manager, the school nurse and the",
            ],
        ),
        ("note", "1 Working Together to Safeguard Children, HM Government, 2018."),
    ],
    [
        (
            "para",
            [
                "family support worker met every fortnight, and the designated safe-",
                "guarding lead at the nursery kept a record of each concern that was raised",
                "about bruising, about missed appointments and about the mother's low mood.",
            ],
        ),
        (
            "para",
            [
                "4. Practitioners described a multi-agency meeting in June at which the concerns were",
                "shared. The panel found that the multi-",
                "agency plan that followed did not say who would see Child Q or how often.",
            ],
        ),
        ("heading", "Findings"),
        (
            "para",
            "5. The panel identified three findings about how the agencies worked together "
            "and about how the voice of the child was heard during home visits.",
        ),
        ("bullets", [
            "Information about the father's history was held by the police but not shared.",
            "Nobody asked Child Q about her injuries when she was seen at nursery.",
        ]),
    ],
    [
        ("heading", "Recommendations"),
        (
            "para",
            "6. The partnership should ask every agency to confirm that practitioners can "
            "name the lead professional for each child on a child protection plan.",
        ),
        (
            "para",
            "7. The partnership should audit the quality of pre-birth assessments within "
            "twelve months of the publication of this review.",
        ),
    ],
]
METADATA = {
    "title": "Child Q: local child safeguarding practice review",
    "author": "Northshire Safeguarding Children Partnership",
}


def _fonts() -> tuple[str, str]:
    """Embedded TrueType fonts (Bitstream Vera ships with reportlab), like the subset fonts
    in PDFs exported from Word, so the text layer carries a ToUnicode map."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
    return "Vera", "VeraBd"


def draw_pages(path: Path, pages=PAGES, header: str | None = HEADER, footer: str | None = FOOTER) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    regular, bold = _fonts()

    width, height = A4
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(METADATA["title"])
    c.setAuthor(METADATA["author"])
    c.setCreator("Microsoft Word")
    c.setSubject("")
    total = len(pages)
    for number, items in enumerate(pages, start=1):
        if header:
            c.setFont(regular, 8)
            c.drawString(56, height - 34, header)
        if footer:
            c.setFont(regular, 8)
            c.drawString(56, 30, footer)
            c.drawRightString(width - 56, 30, f"Page {number} of {total}")
        y = height - 80
        notes = []
        for kind, content in items:
            if kind == "title":
                c.setFont(bold, 18)
                c.drawString(56, y, content)
                y -= 32
            elif kind == "heading":
                c.setFont(bold, 13)
                c.drawString(56, y, content)
                y -= 22
            elif kind == "para":
                lines = content if isinstance(content, list) else textwrap.wrap(content, 84)
                c.setFont(regular, 10)
                for line in lines:
                    c.drawString(56, y, line)
                    y -= 13
                y -= 9
            elif kind == "bullets":
                c.setFont(regular, 10)
                for item in content:
                    c.drawString(56, y, "\u2022")
                    c.drawString(70, y, item)
                    y -= 13
                y -= 9
            elif kind == "note":
                notes.append(content)
        if notes:
            c.setFont(regular, 7)
            ny = 52 + 9 * (len(notes) - 1)
            for note in notes:
                c.drawString(56, ny, note)
                ny -= 9
        c.showPage()
    c.save()
    _set_info(path, {"/CreationDate": "D:20230517093000+01'00'"})
    return path


def _set_info(path: Path, info: dict[str, str]) -> None:
    """Rewrite the PDF's document information (reportlab stamps the current time)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(path))
    writer.add_metadata(info)
    with path.open("wb") as fh:
        writer.write(fh)


@pytest.fixture
def review_pdf(tmp_path: Path) -> Path:
    return draw_pages(tmp_path / "child-q-review.pdf")


@pytest.fixture
def flowing_pdf(tmp_path: Path) -> Path:
    """A PDF laid out by reportlab's own paragraph flow (platypus), several pages, with a
    header and a page-numbered footer drawn on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    path = tmp_path / "flowing.pdf"
    styles = getSampleStyleSheet()

    def on_page(canv, doc):
        canv.saveState()
        canv.setFont("Helvetica", 8)
        canv.drawString(2 * cm, A4[1] - 1.2 * cm, "Serious Case Review - Family B - Final report")
        canv.drawString(2 * cm, 1.2 * cm, "Southborough Local Safeguarding Children Board")
        canv.drawRightString(A4[0] - 2 * cm, 1.2 * cm, str(doc.page))
        canv.restoreState()

    doc = SimpleDocTemplate(
        str(path), pagesize=A4, title="Serious Case Review: Family B", author="Southborough LSCB"
    )
    topics = [
        "the health visitor", "the general practitioner", "the nursery", "the police",
        "children's social care", "the midwife", "the school", "the housing officer",
        "the paediatrician", "the probation officer", "the youth worker", "the dentist",
    ]  # fmt: skip
    story = [Paragraph("Background to the review", styles["Heading1"])]
    for i in range(1, 25):
        topic = topics[i % len(topics)]
        sentences = " ".join(
            f"In week {i * 7 + k} {topic} recorded observation {k} about the children and "
            f"passed note {i}-{k} to the lead professional."
            for k in range(1, 6)
        )
        story.append(Paragraph(f"{i}. {sentences}", styles["BodyText"]))
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return path


@pytest.fixture
def scanned_pdf(tmp_path: Path) -> Path:
    """Two pages that are pictures of text, with no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path = tmp_path / "scanned.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for page in range(2):
        img = Image.new("L", (600, 800), 255)
        draw = ImageDraw.Draw(img)
        for row in range(30):
            draw.rectangle([40, 40 + row * 24, 40 + (row * 37 + page * 50) % 500 + 60, 52 + row * 24], fill=0)
        c.drawImage(ImageReader(img), 0, 0, width=A4[0], height=A4[1])
        c.showPage()
    c.save()
    return path


def encrypt_pdf(source: Path, target: Path, user_password: str, owner_password: str = "owner") -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(source))
    # RC4 works without the optional 'cryptography' package
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    with target.open("wb") as fh:
        writer.write(fh)
    return target


@pytest.fixture
def encrypted_pdf(review_pdf: Path, tmp_path: Path) -> Path:
    return encrypt_pdf(review_pdf, tmp_path / "protected.pdf", user_password="s3cret")


@pytest.fixture
def owner_only_pdf(review_pdf: Path, tmp_path: Path) -> Path:
    """Encrypted with an owner password only (copy/print restrictions): opens without one."""
    return encrypt_pdf(review_pdf, tmp_path / "restricted.pdf", user_password="")


@pytest.fixture
def truncated_pdf(review_pdf: Path, tmp_path: Path) -> Path:
    data = review_pdf.read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])
    return path


# ---------------------------------------------------------------------------------------
# Word
# ---------------------------------------------------------------------------------------


@pytest.fixture
def review_docx(tmp_path: Path) -> Path:
    import docx

    document = docx.Document()
    props = document.core_properties
    props.title = "Rapid review: Baby R"
    props.author = "Eastvale Safeguarding Partnership"
    props.created = datetime(2022, 11, 3, 14, 0)

    document.add_heading("Rapid review: Baby R", level=0)
    document.add_heading("Summary", level=1)
    document.add_paragraph(
        "This rapid review considers the circumstances of Baby R, who was seven weeks old "
        "when she was taken to hospital with a fractured arm."
    )
    document.add_paragraph("35.\tThe panel noted that the father was not known to the health visitor.")
    document.add_heading("What went well", level=2)
    document.add_paragraph("The midwife shared concerns on the same day.", style="List Bullet")
    document.add_paragraph("The GP followed up the missed appointment.", style="List Bullet")
    document.add_heading("Recommendations", level=2)
    document.add_paragraph("Fathers should be invited to every antenatal appointment.", style="List Number")
    document.add_paragraph("Bruising protocols should apply to non-mobile babies.", style="List Number")
    table = document.add_table(rows=3, cols=3)
    cells = [
        ["Agency", "Contact", "Outcome"],
        ["Health visiting", "12 March", "New birth visit completed"],
        ["Police", "20 March", "No further action"],
    ]
    for r, row in enumerate(cells):
        for k, value in enumerate(row):
            table.rows[r].cells[k].text = value
    document.add_paragraph("The table lists each agency's last contact before the injury.")
    path = tmp_path / "baby-r-rapid-review.docx"
    document.save(str(path))
    return path


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------

HTML_PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>Child Z: thematic review | Westshire Safeguarding Partnership</title>
  <meta name="description" content="Learning from the review of Child Z.">
  <meta name="author" content="Westshire Safeguarding Partnership">
  <meta property="og:title" content="Child Z: thematic review">
  <meta property="og:site_name" content="Westshire Safeguarding Partnership">
  <meta property="article:published_time" content="2024-03-08T10:00:00+00:00">
  <link rel="canonical" href="https://www.westshire-scp.org.uk/reviews/child-z">
  <style>.cookie-banner { position: fixed }</style>
  <script>window.analytics = "TRACKING SCRIPT";</script>
</head>
<body>
  <a class="skip-link" href="#content">Skip to main content</a>
  <div class="cookie-banner" id="cookie-consent">
    <p>We use cookies to improve your experience on our website.</p>
    <button>Accept all cookies</button>
  </div>
  <header class="site-header">
    <a href="/">Westshire SCP home</a>
    <nav aria-label="Main menu"><ul><li><a href="/about">About us</a></li>
      <li><a href="/training">Training courses</a></li></ul></nav>
  </header>
  <div class="breadcrumbs"><a href="/">Home</a> &gt; <a href="/reviews">Reviews</a></div>
  <div class="layout">
    <article>
      <header><h1>Child Z: thematic review</h1><p>Published <time datetime="2024-03-08">8 March 2024</time></p></header>
      <h2>Background</h2>
      <p>Child Z was <strong>fourteen</strong> when she went missing from
         her foster placement for the third time.</p>
      <p>1. The review found that return home interviews were not shared with the school.</p>
      <h2>Key learning</h2>
      <ul>
        <li>Professionals should ask about exploitation at every missing episode.</li>
        <li>Information should follow the child when she moves placement.</li>
      </ul>
      <table>
        <tr><th>Episode</th><th>Date</th><th>Return interview</th></tr>
        <tr><td>First</td><td>January</td><td>Yes</td></tr>
        <tr><td>Second</td><td>March</td><td>No</td></tr>
      </table>
    </article>
    <aside class="related"><h2>Related reviews</h2><p>Child Y overview report</p></aside>
  </div>
  <footer><p>Copyright Westshire Council 2024</p><a href="/privacy">Privacy notice</a></footer>
  <noscript>Please enable JavaScript</noscript>
</body>
</html>
"""


@pytest.fixture
def review_html(tmp_path: Path) -> Path:
    path = tmp_path / "child-z.html"
    path.write_text(HTML_PAGE, encoding="utf-8")
    return path
