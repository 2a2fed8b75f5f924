"""The built-in question bank: every field × level × category has several questions.

Technical questions are written per field and level. Behavioural, motivation and
situational questions are written per level with a few field-specific words filled in,
which keeps them natural ("a group project in your finance course") without writing the
same question six times.

Levels: ``high_school`` (secondary school), ``undergraduate_early`` (years 1–2),
``undergraduate_late`` (years 3–4 and final year), ``graduate`` (master's, PhD, early
career). Difficulty is ``easy``, ``medium`` or ``hard`` relative to the level.
"""

from __future__ import annotations

from typing import NamedTuple

from vivavoce.interview.candidate import FIELDS, LEVELS, BankField, BankLevel

__all__ = ["BuiltinQuestion", "builtin_questions"]


class BuiltinQuestion(NamedTuple):
    field: BankField
    level: BankLevel
    category: str
    difficulty: str
    text: str


_E, _M, _H = "easy", "medium", "hard"

_TECHNICAL: dict[BankField, dict[BankLevel, tuple[tuple[str, str], ...]]] = {
    "computer_science": {
        "high_school": (
            (_E, "What is an algorithm? Describe one you use in everyday life without a computer."),
            (_M, "Tell me about a program you wrote. What did it do, and what was the hardest bug?"),
            (_H, "How would you find the largest number in a long list, and how many steps would it take?"),
        ),
        "undergraduate_early": (
            (_E, "What is the difference between a list and a dictionary (or hash map), and when would you pick each?"),
            (_M, "Explain recursion with an example, and say what can go wrong with it."),
            (_H, "How does binary search work, and why does it need sorted input?"),
        ),
        "undergraduate_late": (
            (_E, "Walk me through what happens when you type a web address into a browser and press enter."),
            (_M, "How would you design a URL shortener? Which parts would become bottlenecks first?"),
            (_H, "Describe a situation where two threads share data. What can go wrong, and how do you prevent it?"),
        ),
        "graduate": (
            (_E, "Describe the most technically challenging system you have built and the trade-offs you made."),
            (_M, "How would you evaluate a machine-learning model that performs well offline but poorly in production?"),
            (_H, "Design a service that must stay correct when messages arrive twice or out of order. What guarantees do you give?"),
        ),
    },
    "finance": {
        "high_school": (
            (_E, "What is the difference between saving and investing?"),
            (_M, "If you had a thousand dollars to put aside for five years, what would you consider before choosing where to put it?"),
            (_H, "Why might interest rates going up make borrowing more expensive for a small business?"),
        ),
        "undergraduate_early": (
            (_E, "What are the three main financial statements, and what does each tell you?"),
            (_M, "Explain the time value of money with a simple example."),
            (_H, "How does a rise in interest rates affect the price of an existing bond, and why?"),
        ),
        "undergraduate_late": (
            (_E, "Walk me through how a discounted cash flow valuation works."),
            (_M, "If depreciation increases by ten dollars, how does that flow through the three statements?"),
            (_H, "How would you compare two companies in the same industry with very different capital structures?"),
        ),
        "graduate": (
            (_E, "Tell me about a financial model you built. Which assumption mattered most?"),
            (_M, "How would you hedge the currency exposure of a company that sells abroad but reports at home?"),
            (_H, "A portfolio beat its benchmark last year. How would you decide whether that was skill or luck?"),
        ),
    },
    "engineering": {
        "high_school": (
            (_E, "Tell me about something you built or repaired. How did you figure out how it worked?"),
            (_M, "Why are bridges often built with triangles in their structure?"),
            (_H, "If a design keeps failing a test, how would you go about finding out why?"),
        ),
        "undergraduate_early": (
            (_E, "Explain the difference between stress and strain."),
            (_M, "What is a free-body diagram, and how would you use one to solve a statics problem?"),
            (_H, "How do safety factors work, and how would you choose one for a part?"),
        ),
        "undergraduate_late": (
            (_E, "Describe your capstone or a major design project. What were the requirements, and how did you verify them?"),
            (_M, "How would you choose a material for a part that must be light, stiff and cheap?"),
            (_H, "Explain how a feedback control loop works, and what happens when the gain is too high."),
        ),
        "graduate": (
            (_E, "Describe your research or most advanced project and the engineering problem it solves."),
            (_M, "How do you decide between testing a physical prototype and relying on simulation?"),
            (_H, "Tell me about a failure analysis you performed or would perform. How do you separate the root cause from the symptoms?"),
        ),
    },
    "business": {
        "high_school": (
            (_E, "If you started a small business at school, what would it sell and who would buy it?"),
            (_M, "What is the difference between revenue and profit?"),
            (_H, "A shop's sales went down last month. What questions would you ask to find out why?"),
        ),
        "undergraduate_early": (
            (_E, "What makes a brand you admire successful?"),
            (_M, "Explain supply and demand using a product you know well."),
            (_H, "How would you estimate the number of coffee cups sold in your city each day?"),
        ),
        "undergraduate_late": (
            (_E, "Tell me about a company whose strategy you find interesting, and why."),
            (_M, "A client's profits are falling even though sales are growing. How would you structure the problem?"),
            (_H, "How would you decide whether a company should enter a new market?"),
        ),
        "graduate": (
            (_E, "Describe a business decision you influenced with data."),
            (_M, "How would you price a new subscription product with no direct competitors?"),
            (_H, "A merger is expected to create savings. How would you test whether those savings are realistic?"),
        ),
    },
    "psychology": {
        "high_school": (
            (_E, "What got you interested in how people think and behave?"),
            (_M, "Why might two people remember the same event differently?"),
            (_H, "How could you test whether listening to music helps students study?"),
        ),
        "undergraduate_early": (
            (_E, "What is the difference between correlation and causation? Give an example from psychology."),
            (_M, "Describe a classic psychology experiment and what it showed."),
            (_H, "What is a confounding variable, and how would you control for one in a study?"),
        ),
        "undergraduate_late": (
            (_E, "Tell me about a research project you took part in. What was your role?"),
            (_M, "How would you design a study to test whether a new therapy reduces anxiety?"),
            (_H, "What does the replication crisis mean for how you read published findings?"),
        ),
        "graduate": (
            (_E, "Describe your research question and why it matters."),
            (_M, "How do you decide on sample size and statistical power for a study?"),
            (_H, "How do you handle an ethical dilemma in research or practice, such as a participant disclosing risk of harm?"),
        ),
    },
    "general": {
        "high_school": (
            (_E, "Tell me about a subject you enjoy and something interesting you learned in it recently."),
            (_M, "How do you go about learning something new that you find difficult?"),
            (_H, "Explain something you know well to me as if I had never heard of it."),
        ),
        "undergraduate_early": (
            (_E, "Which course so far has taught you the most, and why?"),
            (_M, "Walk me through how you would research a topic you know nothing about."),
            (_H, "Tell me about a problem you solved by breaking it into smaller parts."),
        ),
        "undergraduate_late": (
            (_E, "What is the most substantial piece of work you have produced at university?"),
            (_M, "How do you decide which sources of information to trust?"),
            (_H, "Describe a complex problem you analysed. What did you conclude, and what would change your mind?"),
        ),
        "graduate": (
            (_E, "Summarise your area of expertise in two minutes for a non-specialist."),
            (_M, "How do you structure a long project so that it stays on track?"),
            (_H, "Tell me about a time your analysis was wrong. How did you find out, and what did you change?"),
        ),
    },
}

# Per-field words slotted into the shared questions.
_WORDS: dict[BankField, dict[str, str]] = {
    "computer_science": {"subject": "computer science", "work": "a coding project", "area": "software development"},
    "finance": {"subject": "finance", "work": "a financial analysis", "area": "finance"},
    "engineering": {"subject": "engineering", "work": "a design project", "area": "engineering"},
    "business": {"subject": "business", "work": "a business project", "area": "business"},
    "psychology": {"subject": "psychology", "work": "a research project", "area": "psychology"},
    "general": {"subject": "your studies", "work": "a school or work project", "area": "your chosen field"},
}

_SHARED: dict[str, dict[BankLevel, tuple[tuple[str, str], ...]]] = {
    "behavioural": {
        "high_school": (
            (_E, "Tell me about a time you worked in a team at school. What was your part?"),
            (_M, "Describe a time you made a mistake. What did you do next?"),
            (_H, "Tell me about a time you had to convince someone to see things your way."),
        ),
        "undergraduate_early": (
            (_E, "Tell me about a group assignment in {subject}. How did the team share the work?"),
            (_M, "Describe a time you had several deadlines at once. How did you decide what came first?"),
            (_H, "Tell me about a time you disagreed with a teammate. How was it resolved?"),
        ),
        "undergraduate_late": (
            (_E, "Tell me about {work} you are proud of. What exactly did you contribute?"),
            (_M, "Describe a time you took the lead when nobody else did."),
            (_H, "Tell me about a time you received hard feedback. What did you change afterwards?"),
        ),
        "graduate": (
            (_E, "Describe a time you mentored or helped someone less experienced."),
            (_M, "Tell me about a project that did not go to plan. What did you learn?"),
            (_H, "Describe a time you had to deliver results with unclear goals or little support."),
        ),
    },
    "motivation": {
        "high_school": (
            (_E, "Why are you interested in {subject}?"),
            (_M, "What would you like to be doing in five years?"),
            (_H, "What is something you worked hard for without anyone asking you to?"),
        ),
        "undergraduate_early": (
            (_E, "What made you choose {subject}?"),
            (_M, "What do you want to get out of an internship or first job in {area}?"),
            (_H, "Which part of {subject} do you find hardest, and why do you keep going?"),
        ),
        "undergraduate_late": (
            (_E, "Why do you want to work in {area}?"),
            (_M, "What kind of team and work environment brings out your best?"),
            (_H, "Why should we choose you over other strong {subject} candidates?"),
        ),
        "graduate": (
            (_E, "What draws you to this kind of role at this point in your career?"),
            (_M, "How does this position fit into your longer-term plans?"),
            (_H, "What would you want to have achieved after your first year in this role?"),
        ),
    },
    "situational": {
        "high_school": (
            (_E, "A classmate in your group is not doing their share. What would you do?"),
            (_M, "You have a test and a family event on the same day. How would you handle it?"),
            (_H, "You notice a friend copying homework. What would you do, and why?"),
        ),
        "undergraduate_early": (
            (_E, "You realise the night before a deadline that you misread the assignment. What do you do?"),
            (_M, "Your team wants to take a shortcut on {work} that you think is wrong. How do you respond?"),
            (_H, "You are given a {subject} task with instructions you do not understand, and your supervisor is away. What do you do?"),
        ),
        "undergraduate_late": (
            (_E, "In an internship, you find an error in work that has already been sent to a client. What do you do?"),
            (_M, "Two senior colleagues give you conflicting instructions. How do you handle it?"),
            (_H, "You are halfway through {work} and realise the original plan will not work. What do you do?"),
        ),
        "graduate": (
            (_E, "A stakeholder asks for results sooner than you can deliver them well. How do you respond?"),
            (_M, "You discover that a colleague's part of the work contains a serious error just before a deadline. What do you do?"),
            (_H, "You are asked to lead a team where members do not trust each other. What are your first steps?"),
        ),
    },
}


def builtin_questions() -> list[BuiltinQuestion]:
    """Every built-in question (fields × levels × technical, behavioural, motivation,
    situational; three of each)."""
    out: list[BuiltinQuestion] = []
    for field in FIELDS:
        words = _WORDS[field]
        for level in LEVELS:
            for difficulty, text in _TECHNICAL[field][level]:
                out.append(BuiltinQuestion(field, level, "technical", difficulty, text))
            for category, by_level in _SHARED.items():
                for difficulty, template in by_level[level]:
                    text = template.format(**words)
                    out.append(BuiltinQuestion(field, level, category, difficulty, text))
    return out
