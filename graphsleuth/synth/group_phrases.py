"""Phrase lists of the prompts that legitimate look-alike groups send: assignments, an agent framework, a starter kit.

A template takes one phrase from each of four lists (see :mod:`.prompt_text`), as the other
families of :mod:`.prompt_phrases` do. Students ask for step-by-step worked solutions of their
assignment, which reads much like chain-of-thought distillation; framework developers' apps send
the framework's system prompts; the starter kit is the provider's public quick-start examples.
"""

__all__ = ["GROUP_FAMILY_PARTS"]

_ASSIGNMENT = (
    [
        "This is for my calculus homework, week {num}.",
        "Our statistics problem set is due on {date}.",
        "I'm stuck on question {num} of this week's physics assignment.",
        "This is from the linear algebra worksheet our lecturer handed out.",
        "For my introductory economics class, problem set {num}.",
        "We were given this in today's chemistry tutorial.",
        "Our discrete maths assignment has this exercise.",
        "My probability coursework includes the following question.",
        "This comes from the practice exam for our engineering module.",
        "Homework {num} for the algorithms course asks this.",
        "This is part of the weekly quiz for our finance course.",
    ],
    [
        "Give me a step-by-step worked solution to this problem: {math}",
        "Show me how to solve this, one step at a time: {math}",
        "Can you walk me through the full working for: {math}",
        "Please solve the following and explain each step: {math}",
        "Work out this question step by step so I can check my answer: {math}",
        "I need a worked example for this exercise: {math}",
        "Explain the method and give a complete worked solution: {math}",
        "How do I get to the answer here? Show the working: {math}",
        "Break this problem down into steps and solve it: {math}",
        "Solve this like a tutor would, showing every line: {math}",
        "Give the solution with all intermediate steps: {math}",
    ],
    [
        "Show every step so I can follow it.",
        "Please explain why each step works.",
        "Use the method we learned in class if you can.",
        "Keep the notation simple.",
        "Point out where students usually go wrong.",
        "Check the final answer at the end.",
        "Write the formulas before you use them.",
        "Don't skip the algebra in the middle.",
        "Explain it like I'm seeing it for the first time.",
        "Number the steps.",
        "Say which rule you use at each step.",
    ],
    [
        "Our professor wants the working shown.",
        "I want to understand it, not just copy it.",
        "The exam is next week.",
        "Thanks, this really helps my revision.",
        "We get marks for method, not only the answer.",
        "I'll compare it with my own attempt.",
        "My study group is stuck on this too.",
        "The textbook answer is different and I don't see why.",
        "I have the tutorial tomorrow morning.",
        "It's worth {num} percent of the module.",
        "Please be patient, maths isn't my strong point.",
    ],
)

_AGENT_FRAMEWORK = (
    [
        "You are a helpful assistant built with the Relay agent framework.",
        "You are an agent running inside Relay. Follow the instructions of the developer.",
        "System: Relay agent runtime, default persona.",
        "You are Relay's planning agent. Break the user's goal into tool calls.",
        "You are a retrieval agent created with Relay.",
        "Relay assistant: answer using the context and tools provided.",
        "You are a Relay workflow step. Complete only your step.",
    ],
    [
        "Answer the user's request using the tools available: {quote}",
        "User goal: {quote}",
        "Use the retrieved documents to answer: {quote}",
        "Plan the steps needed for: {quote}",
        "The user message is: {quote}",
        "Complete the task described here: {quote}",
        "Decide which tool to call next for: {quote}",
    ],
    [
        "When you call a tool, reply with a JSON object with the keys tool and arguments.",
        "Available tools: search, fetch_url, run_python, send_email.",
        "Think about which tool fits before calling it.",
        "If no tool is needed, answer directly.",
        "Return your final answer after the marker FINAL.",
        "Cite the documents you used by their id.",
        "Keep the scratchpad short.",
    ],
    [
        "Session {num}.",
        "Relay version {num}.",
        "Max tool calls: {num}.",
        "Memory: enabled.",
        "Language: match the user.",
        "Trace id {num}.",
        "Output format: markdown.",
    ],
)

_STARTER_KIT = (
    [
        "Starter kit example: a customer support chatbot.",
        "Quickstart: your first request.",
        "Example from the developer docs: text summarisation.",
        "Starter template: classify feedback.",
        "Quickstart notebook, step {num}.",
        "Starter kit: extract fields from text.",
        "Hello world example.",
    ],
    [
        "Summarise the following text in {num} sentences: {quote}",
        "Classify the sentiment of this review as positive, negative or neutral: {quote}",
        "Answer the customer's question politely: {quote}",
        "Extract the names and dates mentioned here as JSON: {quote}",
        "Translate this into French: {quote}",
        "Write a haiku about {quote}",
        "Suggest {num} titles for this blog post: {quote}",
    ],
    [
        "Reply in plain language.",
        "Return only the answer.",
        "Keep it short.",
        "Use a friendly tone.",
        "Format the result as a list.",
        "Respond in JSON.",
        "Explain your answer in one sentence.",
    ],
    [
        "This request was sent from the quickstart notebook.",
        "Sent with the starter kit's sample app.",
        "Example request from the getting-started guide.",
        "Try changing the prompt and run it again.",
        "Sample {num} of the tutorial.",
        "From the playground's example gallery.",
        "Part of the starter kit's test suite.",
    ],
)

GROUP_FAMILY_PARTS = {
    "assignment": _ASSIGNMENT,
    "agent_framework": _AGENT_FRAMEWORK,
    "starter_kit": _STARTER_KIT,
}
