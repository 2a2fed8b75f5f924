"""The word lists behind the offline signals.

Hand-written on purpose: the signals must be deterministic, explainable in one sentence
and free of downloads (an NLP library's tagger would pull in model files and still not
know "STAR" or "hedge"). Only :data:`TECH_TERMS` is language-neutral (tool names are the
same in every language); every other list is English and is used for English interviews
only (see ``signals.py``).
"""

from __future__ import annotations

__all__ = [
    "CONCRETE_NOUNS",
    "DIMENSION_CUES",
    "FILLERS",
    "FILLER_PHRASES",
    "HEDGES",
    "MOTIVATION",
    "NUMBER_WORDS",
    "OUTCOME_PHRASES",
    "OUTCOME_WORDS",
    "QUESTION_WORDS",
    "STAR_ACTION_VERBS",
    "STAR_SITUATION",
    "STAR_TASK",
    "STOPWORDS",
    "TECH_TERMS",
    "WE_WORDS",
    "I_WORDS",
]

# Named tools and technologies (lower case). Written as they are spoken and transcribed;
# mixed-case words and acronyms are recognised as named terms without being listed.
TECH_TERMS = frozenset(
    ["python", "java", "javascript", "typescript", "kotlin", "rust", "golang", "c++", "c#", "ruby", "php", "scala", "haskell", "matlab", "sql", "nosql", "html", "css", "react", "angular", "vue", "svelte", "django", "flask", "fastapi", "node.js", "rails", "laravel", "pandas", "numpy", "scipy", "pytorch", "tensorflow", "keras", "scikit-learn", "sklearn", "jupyter", "tableau", "powerbi", "docker", "kubernetes", "terraform", "ansible", "aws", "azure", "gcp", "linux", "unix", "git", "github", "gitlab", "jenkins", "postgres", "postgresql", "mysql", "sqlite", "mongodb", "redis", "kafka", "rabbitmq", "hadoop", "airflow", "graphql", "grpc", "api", "apis", "http", "websocket", "websockets", "oauth", "jwt", "figma", "jira", "confluence", "arduino", "raspberry", "blender", "autocad", "solidworks", "simulink", "labview", "spss", "stata", "latex", "opencv", "llvm", "gcc", "webpack", "vite", "selenium", "playwright", "pytest", "junit", "cypress", "android", "ios", "flutter", "firebase", "nginx", "apache", "elasticsearch", "prometheus", "grafana", "bigquery", "snowflake", "dbt", "salesforce", "sap"]
)

# Stand-ins for numbers in speech ("three hundred students").
NUMBER_WORDS = frozenset(
    ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "percent", "half", "twice", "double", "triple", "dozen", "dozens"]
)

# Concrete things a piece of work is made of or touches: a sign the answer is about a
# real piece of work rather than generalities.
CONCRETE_NOUNS = frozenset(
    ["app", "application", "database", "server", "script", "dataset", "data", "model", "pipeline", "prototype", "report", "test", "tests", "bug", "bugs", "feature", "features", "deadline", "deadlines", "customer", "customers", "client", "clients", "user", "users", "team", "teammates", "manager", "supervisor", "professor", "lab", "experiment", "experiments", "survey", "code", "repository", "library", "framework", "dashboard", "website", "site", "service", "services", "query", "queries", "schema", "table", "tables", "spreadsheet", "budget", "presentation", "poster", "paper", "thesis", "course", "module", "assignment", "hackathon", "internship", "project", "projects", "sprint", "sprints", "release", "version", "benchmark", "latency", "memory", "cache", "queue", "algorithm", "graph", "circuit", "sensor", "robot", "device", "interface", "endpoint", "tool", "tools", "sample", "samples", "measurement", "measurements"]
)

# Language of outcomes: something changed because of the work.
OUTCOME_WORDS = frozenset(
    ["result", "results", "resulted", "outcome", "reduced", "reduce", "reducing", "increased", "increase", "improved", "improve", "improving", "cut", "saved", "save", "shipped", "launched", "delivered", "achieved", "won", "grew", "raised", "doubled", "halved", "tripled", "finished", "completed", "passed", "fixed", "solved", "succeeded", "success", "faster", "slower", "cheaper", "adopted", "published", "awarded", "accepted", "approved", "impact"]
)
OUTCOME_PHRASES = (
    "as a result",
    "so that",
    "which meant",
    "we ended up",
    "i ended up",
    "went from",
    "led to",
    "the result was",
)

I_WORDS = frozenset({"i", "i'm", "i've", "i'd", "i'll", "me", "my", "myself", "mine"})
WE_WORDS = frozenset({"we", "we're", "we've", "we'd", "we'll", "us", "our", "ours", "ourselves"})

# STAR markers. Situation and task are phrases; action is "I" followed by one of these
# verbs; the result is the outcome language above.
STAR_SITUATION = (
    "when i", "when we", "last year", "last spring", "last summer", "last autumn",
    "last fall", "last winter", "last semester", "during my", "during our", "in my",
    "at my", "at the time", "the situation", "the context", "while i", "while we",
    "there was", "we had a", "i was working", "in my internship", "in my final",
)
STAR_TASK = (
    "my task", "my job was", "my role", "i had to", "i needed to", "we needed to",
    "we had to", "the goal", "our goal", "my goal", "responsible for", "the problem was",
    "the challenge", "i was asked", "we were asked", "the aim", "i wanted to",
)
STAR_ACTION_VERBS = frozenset(
    ["built", "build", "wrote", "write", "designed", "design", "decided", "implemented", "implement", "led", "lead", "set", "split", "created", "create", "organised", "organized", "talked", "used", "analysed", "analyzed", "tested", "measured", "wrote", "refactored", "rewrote", "added", "removed", "introduced", "proposed", "negotiated", "planned", "scheduled", "automated", "deployed", "trained", "interviewed", "contacted", "researched", "prototyped", "debugged", "profiled", "modelled", "modeled", "chose", "picked", "started", "coordinated", "mentored", "presented", "documented", "migrated", "reviewed", "optimised", "optimized", "replaced"]
)

HEDGES = (
    "i think", "i guess", "i suppose", "maybe", "perhaps", "probably", "kind of",
    "sort of", "i'm not sure", "i am not sure", "not really sure", "i don't know",
    "somewhat", "more or less", "i believe", "might have", "could be",
)
FILLERS = frozenset({"um", "uh", "erm", "er", "hmm", "uhm", "umm", "ah"})
FILLER_PHRASES = ("you know", "i mean", "basically", "stuff like that", "and so on", "or something")

MOTIVATION = (
    "i want", "i would like", "i'd like", "i enjoy", "i love", "i like", "interested in",
    "excited", "passionate", "curious", "i hope", "my goal", "to learn", "i care",
    "because", "motivat", "career", "grow",
)

# Words of a question that ask about a dimension (besides the words of the dimension's own
# name and description): which answer a dimension with nothing to quote was judged from.
DIMENSION_CUES = {
    "motivation": ("why", "want", "interest", "interested", "internship", "role", "job",
                   "career", "motivated", "apply", "goal", "goals", "future", "hope"),
    "structure": ("time", "situation", "example", "challenge", "story", "project", "proud",
                  "difficult", "conflict"),
    "evidence": ("project", "example", "result", "results", "measure", "impact", "proud",
                 "achieve", "achieved", "built"),
    "field_knowledge": ("design", "explain", "works", "difference", "technical", "approach",
                        "implement", "choose", "tradeoff", "trade"),
    "communication": ("yourself", "describe", "explain", "walk"),
}

# Words of the question that say nothing about its topic.
QUESTION_WORDS = frozenset(
    ["tell", "describe", "explain", "walk", "talk", "share", "give", "example", "time", "times", "would", "could", "should", "what", "which", "when", "where", "why", "who", "whom", "whose", "how", "about", "your", "you", "yours", "thank", "thanks", "next", "question", "questions", "please", "great", "good", "okay", "interesting", "sounds", "let", "lets", "move", "another", "something", "anything", "think", "thought", "like", "mean", "know", "yourself", "hello", "hi", "welcome", "joining", "start", "begin", "first", "last"]
)

STOPWORDS = frozenset(
    ["a", "an", "the", "and", "or", "but", "if", "then", "so", "of", "in", "on", "at", "to", "for", "from", "by", "with", "without", "into", "onto", "over", "under", "about", "after", "before", "between", "during", "through", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "done", "have", "has", "had", "having", "it", "its", "it's", "this", "that", "these", "those", "there", "here", "they", "them", "their", "theirs", "he", "she", "him", "her", "his", "hers", "we", "us", "our", "i", "me", "my", "mine", "you", "your", "not", "no", "yes", "very", "really", "just", "also", "too", "much", "many", "more", "most", "some", "any", "all", "each", "every", "can", "will", "would", "could", "should", "may", "might", "must", "shall", "one", "ones", "own", "other", "such", "than", "that's", "what's", "i'm", "i've", "we're", "you're", "don't", "didn't", "wasn't", "isn't", "aren't"]
)
