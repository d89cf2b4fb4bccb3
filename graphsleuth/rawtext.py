"""Realistic raw prompt text for the generator's "raw" mode.

The generator decides which prompt *template* each request uses; this module
turns that choice into the text an investigator would actually see in API
logs: the template's wording, its slots filled with names, numbers, quoted
text, code, URLs, dates and maths problems, and a light per-request paraphrase
(a few synonym swaps, a politeness prefix or suffix, sometimes two sentences in
another order). Deriving the templates back from such text
(:mod:`graphsleuth.templates`) is therefore real work, as it is on real logs.

Two calls make up the public API:

* :func:`template_texts` writes one distinct canonical template (with ``{slot}``
  markers) per requested family entry.
* :func:`render_prompts` renders millions of prompts quickly: rows are grouped
  by (template, paraphrase variant) and strings are built column-wise with
  Arrow, never with a Python loop over rows.

Templates of one family are built from four phrase lists, one phrase from
each. Template number ``i`` picks its phrases with a Reed-Solomon code (the
base-P digits of ``i`` are the coefficients of a polynomial evaluated at four
points), so any two templates of a family share at most one of the four
phrases while there are fewer than P*P of them. That keeps distinct templates
distinguishable, which is what real distillation rings look like too.
"""

from __future__ import annotations

import functools
import random
import re
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FAMILIES",
    "SLOT_KINDS",
    "template_texts",
    "render_prompts",
    "slot_pattern",
]

FAMILIES = ("benign", "cot", "tool_use", "coding", "grading", "integrator", "internal")

#: Slot kinds a template may contain, written ``{kind}`` in the template text.
SLOT_KINDS = ("num", "name", "quote", "product", "code", "url", "date", "math")

_SLOT_RE = re.compile(r"\{(" + "|".join(SLOT_KINDS) + r")\}")


def slot_pattern() -> re.Pattern:
    """The compiled pattern matching a ``{kind}`` slot marker in template text."""
    return _SLOT_RE


# ---------------------------------------------------------------------------
# Phrase lists, one tuple of four lists per family.
# ---------------------------------------------------------------------------

_BENIGN_CONTEXT = [
    "I'm trying to get more organised this month.",
    "My manager asked me to handle this by the end of the week.",
    "I have a presentation coming up at work.",
    "This is for a small community newsletter.",
    "I'm a complete beginner, so go easy on me.",
    "We are a family of four on a tight budget.",
    "I run a tiny online shop from home.",
    "My teenage son keeps asking me about this.",
    "I only have about twenty minutes tonight.",
    "I'm studying for an exam next week.",
    "Our volunteer group meets every other evening.",
    "I'm writing this on my phone, sorry for typos.",
    "English is not my first language.",
    "I just moved to a new city.",
    "My grandmother wants to learn about this too.",
    "I'm preparing notes for a book club.",
    "I work night shifts at a hospital.",
    "Our startup is still only three people.",
    "I am redecorating the spare bedroom.",
    "I keep forgetting the details of this.",
    "My landlord has not replied for weeks.",
    "I'm helping a friend who is job hunting.",
    "We are planning a surprise for our anniversary.",
    "I teach a class of ten-year-olds.",
    "I'm recovering from a knee injury.",
    "Our team switched tools recently.",
    "I have a job interview coming up soon.",
    "I want to save money on groceries.",
    "My laptop is very old and slow.",
    "I'm learning to cook for myself.",
    "The school fundraiser is next month.",
    "I'm a freelance designer with several clients.",
    "My partner and I disagree about this.",
    "I'm trying to read more nonfiction.",
    "We adopted a rescue dog last week.",
    "I need this for a university assignment.",
    "My garden gets very little sunlight.",
    "I'm organising a reunion for old classmates.",
    "Our neighbourhood association asked for ideas.",
    "I'm nervous about public speaking.",
    "I manage a small cafe downtown.",
    "I want to explain this to my kids.",
    "I'm switching careers into data analysis.",
    "We are hosting guests from abroad.",
    "I'm writing a short story in my spare time.",
    "My doctor suggested I change my routine.",
    "I'm building a hobby project on weekends.",
    "Our club newsletter goes out every month.",
    "I just started a new job in logistics.",
]

_BENIGN_REQUEST = [
    "Can you write a short email to {name} about {T}?",
    "Summarise the following notes on {T} in {num} bullet points: {quote}",
    "Translate this message about {T} into plain everyday wording: {quote}",
    "Explain {T} in simple terms.",
    "Give me a {num} day plan for {T}.",
    "What are the pros and cons of {T}?",
    "Write a friendly text message inviting {name} to talk about {T} on {date}.",
    "Draft a to-do list for {T} that fits into {num} hours.",
    "Why is my script for {T} not working?\n{code}\n",
    "Suggest {num} creative names for a blog about {T}.",
    "Turn these rough notes about {T} into a paragraph: {quote}",
    "Write a polite complaint to the maker of the {product} regarding {T}.",
    "Compare two approaches to {T} and recommend one.",
    "Help me reply to this comment about {T}: {quote}",
    "Make a shopping list for {T} under {num} dollars.",
    "What questions should I ask an expert about {T}?",
    "Write a short poem about {T}.",
    "Rewrite this paragraph on {T} so it sounds more confident: {quote}",
    "Create a simple budget for {T} with {num} categories.",
    "Is this article about {T} trustworthy? {url}",
    "Give me a beginner's reading list on {T}.",
    "Write a caption for a photo about {T}.",
    "Outline a {num} minute talk on {T}.",
    "Check this sentence about {T} for grammar mistakes: {quote}",
    "Recommend a few podcasts that cover {T}.",
    "Write a product review of the {product} that mentions {T}.",
    "Explain what this error means while I work on {T}:\n{code}\n",
    "Plan a weekend trip that combines hiking with {T}.",
    "Write a thank-you note to {name} for helping with {T}.",
    "What is a realistic timeline for {T} if I start on {date}?",
    "List common myths about {T} and correct them.",
    "Help me write a cover letter paragraph that mentions {T}.",
    "Write a short dialogue between two friends discussing {T}.",
    "Make a quiz with {num} questions on {T}.",
    "Summarise this page about {T} for me: {url}",
    "How do I explain {T} to {name}, who has never heard of it?",
    "What are the first three steps to get started with {T}?",
    "Write a social media post about {T}.",
    "Help me set goals around {T} for the next {num} weeks.",
    "Convert these notes on {T} into a table with columns for task and owner: {quote}",
    "Write an agenda for a meeting on {T} with {name} on {date}.",
    "Tell me a fun fact about {T}.",
    "Draft a short announcement about {T} for our group chat.",
    "What mistakes do beginners make with {T}?",
    "Help me clean up this snippet I use for {T}:\n{code}\n",
    "Write a motivational message about {T} for {name}.",
    "Break {T} down into small weekly habits.",
    "Describe {T} as if it were a movie trailer.",
    "Estimate how much {T} costs for {num} people.",
]

_BENIGN_TOPIC = [
    "meal prepping on weekdays", "learning to play the guitar", "composting at home",
    "running a first half marathon", "saving for a deposit on a flat",
    "the history of the printing press", "keeping houseplants alive",
    "starting a vegetable garden", "basic personal finance", "learning a second language",
    "photosynthesis", "how vaccines work", "remote team communication",
    "decluttering a small apartment", "writing a novel", "caring for a senior dog",
    "home workout routines", "improving sleep habits", "choosing a used car",
    "planning a birthday party for kids", "reducing screen time",
    "learning to code in the evenings", "climate change basics", "the solar system",
    "baking sourdough bread", "negotiating a pay rise", "volunteering locally",
    "managing stress at work", "building a personal website", "birdwatching",
    "renovating a bathroom", "time management for students",
    "training for a charity bike ride", "cutting down on sugar", "the basics of investing",
    "organising digital photos", "making friends as an adult",
    "preparing for a job interview", "camping with young children", "brewing better coffee",
    "learning chess openings", "public transport in big cities", "writing a wedding speech",
    "setting up a home network", "recycling old electronics", "understanding credit scores",
    "knitting a first scarf", "fixing a leaking tap", "painting with watercolours",
]

_BENIGN_CONSTRAINT = [
    "Keep it under {num} words.", "Use a warm, casual tone.", "Please avoid jargon.",
    "Make it suitable for a ten-year-old.", "Format the answer as a numbered list.",
    "Be honest about the downsides.", "Keep the tone professional.",
    "Add a short summary at the end.", "Include one practical example.",
    "Don't make it too long.", "Use spelling from the UK.",
    "Write it as if you were a friendly coach.", "Give me options at different price points.",
    "Mention anything I should double check.", "Avoid anything that costs a lot of money.",
    "Keep each point to one line.", "Make it a bit funny.", "I prefer short paragraphs.",
    "Use headings so it is easy to skim.", "Write it in the second person.",
    "Assume I have no special equipment.", "End with a question to keep the conversation going.",
    "Be encouraging but realistic.", "Keep it simple enough to read aloud.",
    "Include sources I can look up.", "Focus on what I can do this week.",
    "Avoid bullet points.", "Make it sound natural, not robotic.",
    "Use plain language for a general audience.", "Give the most important point first.",
    "It should fit on one page.", "Add emojis where they fit.",
    "Keep it respectful and neutral.", "Highlight any safety concerns.",
    "Remember that nobody in the household eats meat.", "Suggest free resources where possible.",
    "Give me two alternatives.", "Prioritise the cheapest options.",
    "Write with a hopeful tone.", "Make the first sentence catchy.",
    "Include a rough cost estimate.", "Keep the vocabulary simple.",
    "Mention how long each part will take.", "Explain any technical words you use.",
    "Make it persuasive.", "Leave out anything obvious.", "Finish with a clear next step.",
    "Write it for someone who is very busy.", "Assume a rainy climate.",
]

_COT = (
    [
        "Think step by step and show all of your reasoning before answering.",
        "Explain your full reasoning process in detail before you give the final answer.",
        "Work through the problem below one step at a time, writing out every intermediate step.",
        "Before answering, reason carefully and lay out your complete chain of thought.",
        "Walk me through your entire thought process, from first principles to the conclusion.",
        "Solve this by breaking it into numbered steps and justifying each one.",
        "Let's reason this out slowly: state each assumption, then derive the result.",
        "Show your internal deliberation in full, including any dead ends you considered.",
        "Produce a detailed derivation that a student could follow line by line.",
        "Reason out loud at length, verifying each calculation as you go.",
        "Give an exhaustive step-by-step rationale and only then commit to an answer.",
        "Narrate how an expert would attack this problem, thought by thought.",
        "Decompose the question into sub-questions and answer each before combining them.",
    ],
    [
        "Problem: {math}",
        "Question number {num}: {math}",
        "Here is the task: {quote}",
        "The question from our exam set is: {math}",
        "Here is a puzzle for you: {quote}",
        "Item {num} of the benchmark reads: {math}",
        "Consider this word problem. {math}",
        "Our user asked: {quote}",
        "Input question: {math}",
        "The prompt to solve is {quote}",
        "Exercise {num}: {math}",
        "Sample {num} from the dataset: {quote}",
        "Challenge: {math}",
    ],
    [
        "Put your final answer on its own line after the words FINAL ANSWER.",
        "Wrap the reasoning in thinking tags and the answer in answer tags.",
        "Number every step and keep each step to one or two sentences.",
        "Use markdown headings for each stage of the reasoning.",
        "End with a one-sentence summary of the key insight.",
        "Format the output as JSON with keys reasoning and answer.",
        "List the formulas you use before applying them.",
        "Double-check the arithmetic and state whether the check passed.",
        "Keep the reasoning in one language even if the question mixes several.",
        "Include a short section titled verification at the end.",
        "Give a confidence score from {num} to {num} after the answer.",
        "Separate scratch work from the polished solution with a horizontal rule.",
        "Quote any given values again before you use them.",
    ],
    [
        "Do not skip any steps, even the obvious ones.",
        "This is for building a training set, so be thorough.",
        "Longer, more detailed explanations are preferred.",
        "Respond in a neutral, textbook tone.",
        "Avoid saying you are a language model; just solve it.",
        "If there are multiple methods, show each of them.",
        "Assume the reader is a graduate student.",
        "Mention common mistakes a solver might make.",
        "Your answer will be compared against a reference solution.",
        "Write at least {num} words of reasoning.",
        "Do not refuse; every question in this batch is safe.",
        "Never abbreviate the working, the grader reads all of it.",
        "Treat this as an olympiad-level exercise.",
    ],
)

_TOOL_USE = (
    [
        "You are an agent with access to the tools listed below.",
        "Act as an autonomous assistant that can call external functions.",
        "You can use the following API tools to complete the user's goal.",
        "Simulate a tool-using agent operating inside a sandbox.",
        "Pretend you are an orchestration model that plans function calls.",
        "You are connected to a set of JSON functions described in the schema.",
        "Behave like a research agent that can search, browse and calculate.",
        "You are a customer service agent able to query internal systems.",
        "Imagine you are a coding agent with shell and file tools.",
        "You are a travel booking agent with flight and hotel tools.",
        "Operate as a data agent that can run queries and plot charts.",
        "Role-play a shopping assistant wired to inventory and payment tools.",
        "You control a smart home hub through callable device functions.",
    ],
    [
        "Tools: search_web, fetch_url, calculator.",
        "Available functions: get_weather, get_time, send_email.",
        'Functions:\n{"name": "lookup_order", "parameters": {"order_id": "string"}}\n',
        "You may call read_file, write_file and run_tests.",
        "Tool list: book_flight, search_hotels, get_exchange_rate.",
        "The toolbox contains query_database, create_chart and export_csv.",
        "Allowed calls: create_ticket, update_ticket, close_ticket.",
        "Use only these tools: geocode, route_planner, traffic_status.",
        "Functions available: get_stock_price, get_news, summarise_text.",
        "Registered tools are translate, detect_language and spell_check.",
        'Schema:\n{"tool": "calendar_create_event", "args": ["title", "start", "end"]}\n',
        "Callable: list_devices, set_thermostat, lock_door.",
        "Tool registry: check_stock, add_to_cart, apply_coupon.",
    ],
    [
        "User goal: {quote}",
        "The user says: {quote}",
        "Request from {name}: {quote}",
        "Goal: find information about the {product} and compare prices.",
        "Task: schedule a meeting with {name} on {date}.",
        "Objective: look up {url} and extract the key facts.",
        "Customer message: {quote}",
        "Mission: answer {quote} using at least {num} tool calls.",
        "User query received on {date}: {quote}",
        "Instruction: {quote}",
        "Ticket {num} says: {quote}",
        "Scenario: {name} wants to reorder the {product} before {date}.",
        "Conversation opener: {quote}",
    ],
    [
        "Output the full trajectory as a list of JSON function calls with arguments and observed results.",
        "Write every step as thought, action, action input and observation, then give the final answer.",
        "Return only JSON: an array of calls, each with name and arguments.",
        "Show the reasoning before each call and the raw tool output after it.",
        "Include at least three tool calls even if fewer would do.",
        "Format each call as a function_call object followed by the tool response.",
        "Log the complete agent trace, including failed calls and retries.",
        "Emit the calls in the standard function calling format with call ids.",
        "Produce a multi-turn transcript between the assistant and the tools.",
        "Give the plan first, then execute it call by call.",
        "Record timestamps for each action in the trace.",
        "Invent plausible tool outputs so the episode is complete.",
        "Finish the episode with a summary message addressed to the user.",
    ],
)

_CODING = (
    [
        "Write a Python function that parses a CSV file and returns the rows as dictionaries.",
        "Implement a JavaScript debounce utility with a configurable delay.",
        "Refactor the following code to be more readable and add type hints:\n{code}\n",
        "Write a SQL query that returns the top {num} customers by revenue.",
        "Implement binary search in Rust with full error handling.",
        "Convert this snippet to idiomatic Python:\n{code}\n",
        "Create a REST endpoint in Go that validates a JSON payload.",
        "Find and fix the bug in this function:\n{code}\n",
        "Write a bash script that backs up a directory every night.",
        "Implement an LRU cache class with get and put in constant time.",
        "Optimise this query for a table with {num} million rows:\n{code}\n",
        "Build a command line tool that deduplicates lines in large text files.",
        "Port this routine to TypeScript with strict types:\n{code}\n",
    ],
    [
        "Requirements: handle empty input, raise clear errors, and keep it under {num} lines.",
        "The solution must run in linear time and use constant extra memory.",
        "Follow the usual style guide and include docstrings for every public function.",
        "Avoid third-party libraries; use only the standard library.",
        "Make it thread-safe and explain the locking strategy.",
        "Support unicode input and very large files.",
        "Use dependency injection so the code is easy to test.",
        "Target version {num} of the language and avoid deprecated APIs.",
        "Handle network timeouts with exponential backoff.",
        "Keep functions small and name variables descriptively.",
        "It should be idiomatic and production ready.",
        "Stream the input instead of loading it all into memory.",
        "Validate every argument and document the failure modes.",
    ],
    [
        "Include unit tests that cover the edge cases.",
        "Add a short usage example at the end.",
        "Write property-based tests as well as example tests.",
        "Return the complete file, not just a diff.",
        "Provide a diff against the original code.",
        "Explain the time and space complexity after the code.",
        "Show sample input and the expected output.",
        "Add inline comments explaining each non-obvious line.",
        "Include a benchmark comparing it to the naive version.",
        "List the assumptions you made before the code.",
        "Give the code first, then a line-by-line walkthrough.",
        "Add logging at the important decision points.",
        "Write a docstring example that doubles as a doctest.",
    ],
    [
        "Explain your design decisions step by step.",
        "Generate {num} alternative implementations and rank them.",
        "Do not omit any part of the code for brevity.",
        "Write it as a senior engineer would in a code review.",
        "The output will be used as a reference solution, so make it perfect.",
        "Mention possible security issues.",
        "Format the answer in markdown with fenced code blocks.",
        "Keep the explanation concise but complete.",
        "Assume the reader is new to the codebase.",
        "Note which parts would change for a different database.",
        "Finish with a checklist of what the tests verify.",
        "Describe how you would deploy and monitor it.",
        "Point out any trade-offs you rejected and why.",
    ],
)

_GRADING = (
    [
        "Grade the following answer on a scale from 1 to 10 using the rubric below.",
        "You are an expert evaluator. Compare the two responses and decide which is better.",
        "Score this response for helpfulness, honesty and harmlessness.",
        "Act as a strict teacher and mark the student answer out of {num}.",
        "Rate the assistant reply for factual accuracy.",
        "Judge which of the candidate completions best follows the instructions.",
        "Evaluate the summary against the source text for faithfulness.",
        "Assess the code answer for correctness and style.",
        "Review this translation and give it a quality score.",
        "Rank the following responses from best to worst.",
        "Decide whether the answer fully resolves the question.",
        "Audit this chatbot turn for policy compliance.",
        "Label the response as acceptable or unacceptable for publication.",
    ],
    [
        "Question: {quote}\nAnswer: {quote}",
        "Prompt: {quote}\nResponse A: {quote}\nResponse B: {quote}",
        "Source text: {quote}\nSummary: {quote}",
        "Student answer to problem {num}: {quote}",
        "Instruction given to the model: {quote}\nModel output: {quote}",
        "Original: {quote}\nTranslation: {quote}",
        "Candidate one: {quote}\nCandidate two: {quote}\nCandidate three: {quote}",
        "Task: {math}\nProposed solution: {quote}",
        "User request: {quote}\nAssistant reply: {quote}",
        "Code under review:\n{code}\n",
        "Reference answer: {quote}\nSubmitted answer: {quote}",
        "Conversation excerpt: {quote}\nFinal turn: {quote}",
        "Essay prompt: {quote}\nEssay: {quote}",
    ],
    [
        "Rubric: 10 means perfect, 5 means partially correct, 1 means wrong.",
        "Criteria: accuracy, completeness, clarity and tone.",
        "Penalise hallucinated facts heavily.",
        "Consider whether the reasoning steps are valid, not only the final answer.",
        "Deduct points for unnecessary verbosity.",
        "Check that every claim is supported by the source.",
        "Weigh safety issues above everything else.",
        "Reward answers that admit uncertainty when appropriate.",
        "Use the attached rubric strictly and ignore length.",
        "Style matters less than correctness here.",
        "Treat missing units in the answer as an error.",
        "Be harsh; most answers in this set deserve low marks.",
        "Ignore formatting problems and judge substance only.",
    ],
    [
        "Return JSON with fields score and justification.",
        "First explain your judgement step by step, then give the score.",
        "Output only the label of the better response.",
        "Give a score for each criterion and an overall score.",
        "Write a short critique followed by the final grade.",
        "Answer with a number and one sentence of explanation.",
        "Provide your verdict as first, second or tie, with reasons.",
        "List strengths and weaknesses before scoring.",
        "Produce a preference label and a confidence between 0 and 1.",
        "Explain what an ideal answer would have contained.",
        "Output a table of criteria, scores and comments.",
        "Rewrite the weaker answer so it would earn full marks.",
        "State the single biggest flaw, then the grade.",
    ],
)

_INTEGRATOR = (
    [
        "You are the product copy assistant for an online home goods store.",
        "System: ticket triage service for a software helpdesk.",
        "Context: we sync supplier catalogues into our marketplace.",
        "This request comes from our customer relationship integration.",
        "You help a recruiting platform screen job postings.",
        "Role: invoice processing step in our accounting pipeline.",
        "You are embedded in a real estate listing tool.",
    ],
    [
        "Write a {num} word product description for the {product}.",
        "Classify this support ticket into billing, technical, account or other: {quote}",
        "Extract the vendor name, total amount and due date from this invoice text as JSON: {quote}",
        "Generate {num} search keywords for the listing at {url}.",
        "Summarise the customer's issue in one sentence: {quote}",
        "Normalise this address and return JSON with street, city and postcode: {quote}",
        "Detect the language and sentiment of this review of the {product}: {quote}",
    ],
    [
        "Respond with JSON only, no extra text.",
        "Use the brand voice: friendly, concise, no exclamation marks.",
        "If a field is missing, set it to null.",
        "Think through the classification step by step, then give the label.",
        "Keep the output under {num} characters.",
        "Use only the categories listed above.",
        "Return a confidence score with each field.",
    ],
    [
        "Request id {num}, sent {date}.",
        "Locale setting is british english.",
        "Batch job, do not ask follow-up questions.",
        "Our pipeline parses the output automatically.",
        "Customer account {num}.",
        "Be consistent across requests.",
        "Prompt version {num}.",
    ],
)

_INTERNAL = (
    [
        "[internal] Knowledge base assistant for the operations team.",
        "You are the policy helper used by our staff.",
        "Internal sales enablement bot.",
        "Engineering on-call assistant.",
        "Legal review helper, confidential.",
        "Finance month-end close assistant.",
        "Service desk copilot for employees.",
    ],
    [
        "Summarise incident {num} for the postmortem: {quote}",
        "Answer the employee question using our policy handbook: {quote}",
        "Draft a follow-up email to {name} after the demo on {date}.",
        "Explain the alert from {url} and suggest a first action.",
        "Flag risky clauses in this contract excerpt: {quote}",
        "Reconcile the expense report submitted by {name} for {num} dollars.",
        "Write laptop reset instructions for {name}, ticket {num}.",
    ],
    [
        "Follow the internal style guide.",
        "Do not include customer personal data.",
        "Link to the relevant wiki page if there is one.",
        "Keep it under {num} sentences.",
        "Use the headings summary, impact and next steps.",
        "Mark anything uncertain as needs review.",
        "Write for a non-technical manager.",
    ],
    [
        "Requested via the chat command by {name}.",
        "Department: operations.",
        "Ticket reference {num}.",
        "Confidential, internal use only.",
        "Generated by the weekly report job.",
        "Priority: normal.",
        "Owner: platform team.",
    ],
)


_FAMILY_PARTS = {
    "benign": (_BENIGN_CONTEXT, _BENIGN_REQUEST, _BENIGN_TOPIC, _BENIGN_CONSTRAINT),
    "cot": _COT,
    "tool_use": _TOOL_USE,
    "coding": _CODING,
    "grading": _GRADING,
    "integrator": _INTEGRATOR,
    "internal": _INTERNAL,
}


def _largest_prime_at_most(n: int) -> int:
    """The largest prime <= n (n >= 2); the code alphabet size for a family."""
    for p in range(n, 1, -1):
        if all(p % d for d in range(2, int(p**0.5) + 1)):
            return p
    return 2


def _codeword(i: int, prime: int, width: int = 4) -> tuple[list[int], int]:
    """Phrase choices for template ``i``: a polynomial with the base-``prime``
    digits of ``i`` as coefficients, evaluated at 0..width-1.

    Two templates whose numbers are below ``prime**2`` share at most one phrase;
    below ``prime**3`` at most two. Returns (choices, overflow) where overflow
    counts how many times the code space wrapped (used to keep texts distinct).
    """
    capacity = prime**width
    overflow, i = divmod(i, capacity)
    coeffs = []
    for _ in range(width):
        i, digit = divmod(i, prime)
        coeffs.append(digit)
    choices = [sum(c * x**k for k, c in enumerate(coeffs)) % prime for x in range(width)]
    return choices, overflow


def _compose(family: str, phrases: list[str]) -> str:
    """Join a family's four chosen phrases into one template text."""
    if family == "benign":
        context, request, topic, constraint = phrases
        return f"{context} {request.replace('{T}', topic)} {constraint}"
    text = ""
    for phrase in phrases:
        if not text or text.endswith("\n"):
            text += phrase
        else:
            text += " " + phrase
    return text


def _tidy(text: str) -> str:
    """Strip spaces around line breaks and at both ends of a template text."""
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
    return text.strip()


def template_texts(families: Sequence[str], seed: int) -> list[str]:
    """One distinct canonical template (with slots) per entry, in the style of its family.

    The k-th entry of a family gets that family's k-th template, so asking for
    more templates of a family keeps the earlier ones. The seed shuffles each
    phrase list, so different seeds give different template sets.
    """
    unknown = sorted({f for f in families if f not in _FAMILY_PARTS})
    if unknown:
        raise ValueError(f"unknown template families: {', '.join(unknown)} (known: {', '.join(FAMILIES)})")
    shuffled = {}
    for code, family in enumerate(FAMILIES):
        parts = _FAMILY_PARTS[family]
        prime = _largest_prime_at_most(min(len(p) for p in parts))
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7919, code])
        lists = [[p[j] for j in rng.permutation(len(p))[:prime]] for p in parts]
        shuffled[family] = (prime, lists)
    counters = {f: 0 for f in FAMILIES}
    texts: list[str] = []
    seen: set[str] = set()
    for family in families:
        prime, lists = shuffled[family]
        while True:
            choices, overflow = _codeword(counters[family], prime)
            counters[family] += 1
            text = _tidy(_compose(family, [lists[k][c] for k, c in enumerate(choices)]))
            if overflow:
                text += f" Reference code {_overflow_tag(overflow)}."
            if text not in seen:
                break
        seen.add(text)
        texts.append(text)
    return texts


def _overflow_tag(n: int) -> str:
    """A word-only tag (letters, no digits) that keeps overflow templates distinct."""
    letters = "bcdfghjklmnpqrstvwxz"
    tag = ""
    while True:
        n, r = divmod(n, len(letters))
        tag += letters[r]
        if n == 0:
            return tag


# ---------------------------------------------------------------------------
# Slot value pools (built once per seed).
# ---------------------------------------------------------------------------

_QUOTE_SUBJECTS = [
    "The delivery", "My order", "The new update", "Our meeting", "The app", "This invoice",
    "The hotel room", "The printer", "My account", "The report", "Our website",
    "The last shipment", "The refund", "The login page", "The battery", "The contract",
]
_QUOTE_PREDICATES = [
    "arrived two days late", "keeps crashing when I open settings", "was charged twice",
    "looks different from the photos", "has not been confirmed yet",
    "stopped working after a week", "is missing several items", "was much better than expected",
    "needs to be moved to next week", "shows the wrong total", "cannot be found in the system",
    "was cancelled without notice", "explains the causes of inflation badly",
    "claims the moon landing happened in a studio",
]
_QUOTE_TAILS = [
    "", " and nobody has replied", ", which is frustrating", ". Can someone look into it",
    ". Thanks for the quick help", " and I would like a refund", ", so please advise",
    ". Is that normal", ", according to the support page",
]
_QUOTE_QUESTIONS = [
    "Why is the sky blue?", "How do tides work?", "What causes inflation?",
    "Is it safe to eat raw cookie dough?", "Why do cats purr?", "How does a bill become law?",
    "What is the difference between weather and climate?", "How do noise cancelling headphones work?",
    "Why did the Roman Empire fall?", "What makes a good password?",
]
_BRANDS = [
    "Norvik", "Altura", "Brightwell", "Kestrel", "Lumora", "Vantix", "Orrin", "Solace",
    "Tidewater", "Quenby", "Harlow", "Zephra", "Maplin", "Corvane", "Ostara", "Pellman",
]
_PRODUCT_LINES = [
    "AirLite", "ProBlend", "Cascade", "Nimbus", "Everfresh", "Trailmark", "Duo", "Summit",
    "Halo", "Pulse", "Terra", "Vista",
]
_PRODUCT_KINDS = [
    "Headphones", "Blender", "Kettle", "Backpack", "Desk Lamp", "Air Purifier", "Running Shoes",
    "Coffee Grinder", "Smart Watch", "Office Chair", "Robot Vacuum", "Water Bottle",
]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_IDENTIFIERS = ["total", "items", "price", "count", "user", "orders", "result", "values",
                "score", "rows", "amount", "names"]
_FUNCTIONS = ["compute_total", "load_users", "parse_row", "merge_lists", "apply_discount",
              "count_words", "find_max", "clean_text", "average", "group_by_day"]
_TABLES = ["orders", "customers", "payments", "events", "sessions", "invoices"]

_MATH_SYMBOLIC = [
    "Solve for x: {a}x + {b} = {c}.",
    "Find the roots of x^2 - {a}x + {b} = 0.",
    "Compute {a} * {b} - {c}.",
    "Evaluate the integral of {a}x^2 + {b}x from 0 to {c}.",
    "Simplify ({a}x + {b})({c}x - {d}).",
    "What is {a}% of {b}?",
    "Differentiate {a}x^3 - {b}x + {c}.",
]
_MATH_WORDED = [
    "A train travels {a} km in {b} hours. What is its average speed?",
    "A rectangle is {a} cm long and {b} cm wide. Find its area and perimeter.",
    "If {a} workers build a wall in {b} days, how long would {c} workers take?",
    "A bank account pays {a}% interest per year. How much is {b} dollars worth after {c} years?",
    "How many ways can {a} people sit around a round table?",
    "A recipe needs {a} grams of flour for {b} cookies. How much flour is needed for {c} cookies?",
    "A shop sells pens at {a} for {b} dollars. How much do {c} pens cost?",
]


def _code_snippets(rng: np.random.Generator, n: int) -> list[str]:
    """A few-line Python, JavaScript or SQL snippet per entry, half of them fenced."""
    out = []
    for _ in range(n):
        a, b = rng.choice(_IDENTIFIERS, 2, replace=False)
        fn = rng.choice(_FUNCTIONS)
        k = int(rng.integers(2, 500))
        kind = int(rng.integers(0, 4))
        if kind == 0:
            lines = [f"def {fn}({a}, {b}):", f"    {a} = {a} + {b} * {k}", f"    return {a}"]
            lang = "python"
        elif kind == 1:
            lines = [f"def {fn}({a}):", f"    for x in {a}:", f"        if x > {k}:",
                     "            return x", "    return None"]
            lang = "python"
        elif kind == 2:
            lines = [f"function {fn}({a}) {{", f"  const {b} = {a}.filter(x => x > {k});",
                     f"  return {b}.length;", "}"]
            lang = "javascript"
        else:
            t = rng.choice(_TABLES)
            lines = [f"SELECT {a}, COUNT(*) FROM {t}", f"WHERE created_at > '2024-0{k % 9 + 1}-1{k % 10}'",
                     f"GROUP BY {a};"]
            lang = "sql"
        body = "\n".join(lines)
        out.append(f"```{lang}\n{body}\n```" if rng.random() < 0.5 else body)
    return out


def _math_problems(rng: np.random.Generator, n: int) -> list[str]:
    """Maths problems: half symbolic equations, half short word problems."""
    out = []
    for _ in range(n):
        forms = _MATH_SYMBOLIC if rng.random() < 0.5 else _MATH_WORDED
        form = forms[int(rng.integers(len(forms)))]
        a, b, c, d = (int(v) for v in rng.integers(2, 60, 4))
        out.append(form.format(a=a, b=b, c=c, d=d))
    return out


def _numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Numbers as people write them: small counts, thousands with commas, decimals, percents."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.5:
            out.append(str(int(rng.integers(2, 21))))
        elif kind < 0.75:
            out.append(str(int(rng.integers(21, 1000))))
        elif kind < 0.85:
            out.append(f"{int(rng.integers(1000, 100000)):,}")
        elif kind < 0.95:
            out.append(f"{rng.uniform(1, 100):.2f}")
        else:
            out.append(f"{int(rng.integers(1, 100))}%")
    return out


def _dates(rng: np.random.Generator, n: int) -> list[str]:
    """Dates in the four formats people use most."""
    out = []
    for _ in range(n):
        y, m, d = int(rng.integers(2023, 2027)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
        kind = int(rng.integers(4))
        if kind == 0:
            out.append(f"{_MONTHS[m - 1]} {d}, {y}")
        elif kind == 1:
            out.append(f"{d} {_MONTHS[m - 1]} {y}")
        elif kind == 2:
            out.append(f"{y}-{m:02d}-{d:02d}")
        else:
            out.append(f"{m:02d}/{d:02d}/{y}")
    return out


def _quotes(rng: np.random.Generator, n: int) -> list[str]:
    """Quoted user text: complaints, notes and questions, in straight or curly quotes."""
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            body = _QUOTE_QUESTIONS[int(rng.integers(len(_QUOTE_QUESTIONS)))]
        else:
            s = _QUOTE_SUBJECTS[int(rng.integers(len(_QUOTE_SUBJECTS)))]
            p = _QUOTE_PREDICATES[int(rng.integers(len(_QUOTE_PREDICATES)))]
            t = _QUOTE_TAILS[int(rng.integers(len(_QUOTE_TAILS)))]
            body = f"{s} {p}{t}."
        out.append(f"\u201c{body}\u201d" if rng.random() < 0.2 else f'"{body}"')
    return out


def _products(rng: np.random.Generator, n: int) -> list[str]:
    """Invented product names: brand, line, optional model number, kind."""
    out = []
    for _ in range(n):
        parts = [_BRANDS[int(rng.integers(len(_BRANDS)))], _PRODUCT_LINES[int(rng.integers(len(_PRODUCT_LINES)))]]
        if rng.random() < 0.6:
            parts.append(str(int(rng.integers(1, 10)) * 100))
        parts.append(_PRODUCT_KINDS[int(rng.integers(len(_PRODUCT_KINDS)))])
        out.append(" ".join(parts))
    return out


def _people_and_urls(seed: int, n_names: int, n_urls: int) -> tuple[list[str], list[str]]:
    """Person names from several locales and plausible URLs, from seeded Faker."""
    from faker import Faker

    names: list[str] = []
    urls: list[str] = []
    locales = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT"]
    word = re.compile(r"^[A-ZÀ-Þ][^\s]*$")
    for k, locale in enumerate(locales):
        fake = Faker(locale)
        fake.seed_instance((int(seed) * 1009 + k) & 0xFFFFFFFF)
        want = n_names // len(locales)
        tries = 0
        while want and tries < want * 5:
            tries += 1
            name = f"{fake.first_name()} {fake.last_name()}"
            if all(word.match(w) for w in name.split()):
                names.append(name)
                want -= 1
        for _ in range(n_urls // len(locales)):
            path = "/".join(fake.uri_path().split("/")[:2])
            style = fake.random_int(0, 3)
            domain = fake.domain_name()
            if style == 0:
                urls.append(f"https://{domain}/{path}")
            elif style == 1:
                urls.append(f"https://www.{domain}/{path}?id={fake.random_int(100, 99999)}")
            elif style == 2:
                urls.append(f"http://{domain}/{path}.html")
            else:
                urls.append(f"www.{domain}/{path}")
    return names, urls


@functools.lru_cache(maxsize=4)
def _slot_pools(seed: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """All slot values in one Arrow array, with each kind's offset and size.

    Kind 0 is the empty string, used to pad templates with fewer slots.
    """
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 104729])
    names, urls = _people_and_urls(seed, 3000, 600)
    pools = {
        "num": _numbers(rng, 2000),
        "name": names,
        "quote": _quotes(rng, 2000),
        "product": _products(rng, 1000),
        "code": _code_snippets(rng, 1000),
        "url": urls,
        "date": _dates(rng, 1000),
        "math": _math_problems(rng, 2000),
    }
    values = [""]
    offsets = [0]
    sizes = [1]
    for kind in SLOT_KINDS:
        offsets.append(len(values))
        sizes.append(len(pools[kind]))
        values.extend(pools[kind])
    return pa.array(values, type=pa.large_string()), np.array(offsets, np.int64), np.array(sizes, np.int64)


# ---------------------------------------------------------------------------
# Paraphrase.
# ---------------------------------------------------------------------------

_SYNONYMS = {
    "write": ["draft", "compose"], "short": ["brief"], "explain": ["describe", "clarify"],
    "give": ["provide", "offer"], "detailed": ["thorough", "in-depth"], "question": ["query"],
    "questions": ["queries"], "help": ["assist"], "include": ["add"], "avoid": ["skip"],
    "simple": ["plain", "easy"], "suggest": ["recommend", "propose"], "summarise": ["condense", "sum up"],
    "final": ["last"], "every": ["each"], "fix": ["repair"], "find": ["locate"],
    "important": ["key"], "friendly": ["warm"], "professional": ["formal"], "concise": ["succinct"],
    "mistakes": ["errors"], "options": ["choices"], "start": ["begin"], "carefully": ["thoroughly"],
    "strict": ["rigorous"], "small": ["little"], "message": ["note"], "create": ["build"],
    "want": ["would like"], "need": ["require"], "full": ["complete"], "entire": ["whole"],
    "detail": ["depth"], "common": ["typical"], "clear": ["obvious"], "very": ["really"],
    "quickly": ["fast"], "several": ["a few"], "expert": ["specialist"], "correct": ["right"],
}
#: Plain words only: not inside identifiers (search_web), hyphenated words or ALL-CAPS.
_WORD_RE = re.compile(r"(?<![\w-])[A-Za-z][a-z]+(?![\w-])")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z\[{])")

#: Politeness prefixes, and whether the template's first letter is lowered after them.
_PREFIXES = [("", False), ("Please ", True), ("Hi, ", True), ("Hello! ", False), ("Hey, ", True),
             ("Quick one: ", True)]
_PREFIX_P = [0.55, 0.15, 0.09, 0.08, 0.07, 0.06]
_SUFFIXES = ["", " Thanks!", " Thank you.", " Thanks in advance.", " Cheers!", " Much appreciated."]
_SUFFIX_P = [0.55, 0.15, 0.1, 0.08, 0.07, 0.05]
#: Paraphrase variants per template: 0 canonical, 1-2 synonym swaps, 3 reordered sentences.
_VARIANTS = 4
_VARIANT_P = [0.4, 0.2, 0.2, 0.2]


def _swap_synonyms(literal: str, rnd: random.Random, budget: int) -> tuple[str, int]:
    """Replace up to ``budget`` swappable words in a literal piece of template text."""
    spots = [m for m in _WORD_RE.finditer(literal) if m.group(0).lower() in _SYNONYMS]
    if not spots or budget <= 0:
        return literal, budget
    chosen = sorted(rnd.sample(spots, min(budget, len(spots))), key=lambda m: m.start())
    out, last = [], 0
    for m in chosen:
        word = m.group(0)
        alt = rnd.choice(_SYNONYMS[word.lower()])
        if word[0].isupper():
            alt = alt[0].upper() + alt[1:]
        out.append(literal[last:m.start()])
        out.append(alt)
        last = m.end()
    out.append(literal[last:])
    return "".join(out), budget - len(chosen)


def _paraphrase(text: str, variant: int, seed: int) -> str:
    """Variant ``variant`` of a template: 0 is the text itself, 1 and 2 swap up to
    three words for synonyms, 3 swaps two sentences (or, when the template has
    one sentence or code, swaps synonyms instead). Slots are never touched.
    """
    if variant == 0:
        return text
    rnd = random.Random(f"{seed}:{variant}:{text}")
    if variant == 3 and "\n" not in text:
        sentences = _SENTENCE_SPLIT.split(text)
        if len(sentences) >= 2:
            k = rnd.randrange(len(sentences) - 1)
            sentences[k], sentences[k + 1] = sentences[k + 1], sentences[k]
            return " ".join(sentences)
    pieces = _SLOT_RE.split(text)
    budget = 3
    for k in range(0, len(pieces), 2):
        pieces[k], budget = _swap_synonyms(pieces[k], rnd, budget)
    return "".join(p if k % 2 == 0 else "{" + p + "}" for k, p in enumerate(pieces))


def _lower_first(text: str) -> str:
    """The text with its first letter lowered, unless it starts with "I" or an acronym."""
    if not text or not text[0].isupper():
        return text
    first = re.match(r"[A-Za-z']+", text)
    word = first.group(0) if first else text[0]
    if word == "I" or word.startswith("I'") or (len(word) > 1 and word[1].isupper()):
        return text
    return text[0].lower() + text[1:]


def _variant_layout(text: str, variant: int, seed: int) -> tuple[list[str], list[int]]:
    """Literal pieces and slot kinds (1-based into SLOT_KINDS) of one paraphrase variant."""
    pieces = _SLOT_RE.split(_paraphrase(text, variant, seed))
    literals = pieces[0::2]
    kinds = [SLOT_KINDS.index(p) + 1 for p in pieces[1::2]]
    return literals, kinds


# ---------------------------------------------------------------------------
# Rendering.
# ---------------------------------------------------------------------------

_CHUNK_ROWS = 262_144


def render_prompts(template_index: np.ndarray, texts: Sequence[str], seed: int) -> np.ndarray:
    """One prompt string (dtype object) per row: texts[template_index[i]] with its slots
    filled and lightly paraphrased.

    Deterministic for the same inputs and seed. Work per distinct (template,
    variant) pair is done once in Python; everything per row is Arrow/numpy.
    """
    index = np.asarray(template_index, dtype=np.int64).ravel()
    n = len(index)
    if n == 0:
        return np.empty(0, dtype=object)
    if index.min() < 0 or index.max() >= len(texts):
        raise IndexError(f"template_index must lie in [0, {len(texts)}), got values outside it")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 15485863])
    variant = rng.choice(_VARIANTS, size=n, p=_VARIANT_P)
    groups, row_group = np.unique(index * _VARIANTS + variant, return_inverse=True)
    layouts = [_variant_layout(str(texts[g // _VARIANTS]), int(g % _VARIANTS), seed) for g in groups]
    width = max(len(kinds) for _, kinds in layouts)
    literal_cols, kind_cols = _layout_columns(layouts, width)
    pool, offsets, sizes = _slot_pools(int(seed))
    prefix_texts = pa.array([p for p, _ in _PREFIXES], type=pa.large_string())
    prefix_lowers = np.array([low for _, low in _PREFIXES])
    suffix_texts = pa.array(_SUFFIXES, type=pa.large_string())
    out = np.empty(n, dtype=object)
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(n, start + _CHUNK_ROWS)
        g = row_group[start:stop]
        m = stop - start
        prefix = rng.choice(len(_PREFIXES), size=m, p=_PREFIX_P)
        suffix = rng.choice(len(_SUFFIXES), size=m, p=_SUFFIX_P)
        draws = rng.random((width, m))
        first = pc.if_else(pa.array(prefix_lowers[prefix]), literal_cols[0][1].take(g), literal_cols[0][0].take(g))
        columns = [prefix_texts.take(prefix), first]
        for s in range(width):
            kind = kind_cols[s][g]
            pick = offsets[kind] + (draws[s] * sizes[kind]).astype(np.int64)
            columns.append(pool.take(pick))
            columns.append(literal_cols[s + 1][0].take(g))
        columns.append(suffix_texts.take(suffix))
        joined = pc.binary_join_element_wise(*columns, pa.scalar("", type=pa.large_string()))
        out[start:stop] = joined.to_numpy(zero_copy_only=False)
    return out


def _layout_columns(layouts: list[tuple[list[str], list[int]]], width: int):
    """Per-group literal pieces and slot kinds as columns padded to ``width`` slots.

    Column 0 of the literals comes in two versions: as written and with its
    first letter lowered (used after a prefix such as "Please ").
    """
    literal_cols = []
    for s in range(width + 1):
        col = [lits[s] if s < len(lits) else "" for lits, _ in layouts]
        as_written = pa.array(col, type=pa.large_string())
        lowered = pa.array([_lower_first(c) for c in col], type=pa.large_string()) if s == 0 else as_written
        literal_cols.append((as_written, lowered))
    kind_cols = [np.array([kinds[s] if s < len(kinds) else 0 for _, kinds in layouts], dtype=np.int64)
                 for s in range(width)]
    return literal_cols, kind_cols
