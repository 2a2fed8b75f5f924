"""Real résumé files, generated on the spot: text PDF, image-only PDF, encrypted PDF, DOCX."""

from __future__ import annotations

import io

RESUME_LINES = [
    "Grace Hopper",
    "grace@example.org | +1 555 0100",
    "",
    "Education",
    "B.Sc. in Computer Science, Example University - 3rd year",
    "",
    "Skills: Python, SQL, Compilers, Distributed systems",
    "",
    "Experience",
    "Teaching assistant for data structures; built a grading tool used by 300 students.",
]


def text_pdf(lines: list[str] = RESUME_LINES) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    y = 800
    for line in lines:
        pdf.drawString(60, y, line)
        y -= 18
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    """What a scanner produces: a page that is one picture, no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    picture = Image.new("L", (400, 200), 255)
    draw = ImageDraw.Draw(picture)
    for row in range(10, 190, 20):
        draw.rectangle((20, row, 360, row + 8), fill=30)  # "lines of text" as pixels
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawImage(ImageReader(picture), 60, 500, width=400, height=200)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def encrypted_pdf(user_password: str = "s3cret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(io.BytesIO(text_pdf())).pages:
        writer.add_page(page)
    # RC4 needs no optional crypto library, so this runs everywhere.
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_file(lines: list[str] = RESUME_LINES) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Languages"
    table.rows[0].cells[1].text = "English, French"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def garbage(n: int = 4096) -> bytes:
    # Deterministic noise with a NUL early on: nothing a text sniffer could accept.
    return bytes((i * 7919 + 13) % 256 for i in range(n))
