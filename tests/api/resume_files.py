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


# Varied résumés for the field guesses: each a different layout and career stage.
NEW_GRAD_PDF = [
    "Alex Chen",
    "alex.chen@example.org · github.com/alexc",
    "EDUCATION",
    "B.S. Computer Science — State University, Expected May 2027",
    "Relevant coursework: Algorithms, Operating Systems",
    "EXPERIENCE",
    "Software Engineering Intern, Acme Corp      Jun 2025 – Aug 2025",
    "Built an internal dashboard in React and Go used by 40 engineers.",
    "SKILLS",
    "Go, React, PostgreSQL, Docker",
]

SENIOR_FINANCE = [
    "Maria Garcia",
    "Senior Financial Analyst",
    "Professional Experience",
    "Financial Analyst, Northbank — 2016 – Present",
    "Own the quarterly forecast for a $2B loan book.",
    "Junior Analyst, Small Fund — 2014 – 2016",
    "Education",
    "Bachelor of Science in Finance, University of Example, 2014",
]

PSYCHOLOGY_MASTERS = [
    "Sam Okafor",
    "Education: MSc Psychology, Example College (2025 – present)",
    "Work history",
    "Research assistant, Sleep Lab, 09/2023 – 08/2025",
    "Ran 60 participant sessions and cleaned the EEG data.",
]

ENGINEER_TABLE_ROWS = [
    ("Education", "B.Eng. Mechanical Engineering, Tech Institute, 2018 – 2022"),
    ("Experience", "Design Engineer, Turbine Works, 09/2022 – 06/2024"),
    ("Skills", "SolidWorks, MATLAB, FEA"),
]


def pdf_resume(lines: list[str]) -> bytes:
    return text_pdf(lines)


def docx_resume(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        if line in {"Professional Experience", "Education"}:
            document.add_heading(line, level=2)
        else:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_table_resume(name: str, rows: list[tuple[str, str]]) -> bytes:
    """A two-column résumé laid out as a table: headings left, content right."""
    import docx

    document = docx.Document()
    document.add_paragraph(name)
    table = document.add_table(rows=len(rows), cols=2)
    for row, (heading, body) in zip(table.rows, rows, strict=True):
        row.cells[0].text = heading
        row.cells[1].text = body
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
