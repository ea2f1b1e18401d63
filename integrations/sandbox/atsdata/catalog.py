"""The fixed vocabulary the generated company draws from: names, departments, offices,
jobs and their stage templates, sources, tags, rejection reasons and interviews."""

from __future__ import annotations

DAY = 86400.0


FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mateo", "Amelia", "Benjamin", "Harper", "Leo", "Evelyn", "Oliver", "Aaliyah", "Ethan",
    "Priya", "Arjun", "Mei", "Wei", "Hana", "Kenji", "Fatima", "Omar", "Zainab", "Yusuf",
    "Chloe", "Jack", "Grace", "Harry", "Freya", "George", "Isla", "Oscar", "Lena", "Jonas",
    "Marie", "Felix", "Clara", "Maximilian", "Sofia", "Diego", "Valentina", "Santiago", "Nia",
    "Kwame", "Amara", "Tomasz", "Zofia", "Aleksandr", "Ingrid", "Lars", "Siobhan", "Declan",
    "Camille", "Théo",
]  # fmt: skip


LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King",
    "Patel", "Shah", "Nguyen", "Kim", "Chen", "Wang", "Tanaka", "Sato", "Okafor", "Mensah",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Wagner", "Hoffmann",
    "O'Brien", "Murphy", "Kelly", "Evans", "Roberts", "Hughes", "Kowalski", "Nowak", "Ivanova",
    "Larsen", "Johansson", "Dubois", "Moreau", "Rossi",
]  # fmt: skip


COMPANIES = [
    "Acme Analytics", "Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics",
    "Wayne Media", "Hooli", "Pied Piper", "Vandelay Industries", "Brickly LLC", "Blue Harbor Bank",
    "Soylent Foods", "Tyrell Systems", "Cyberdyne Robotics", "Massive Dynamic", None, None,
]  # fmt: skip


TITLES = [
    "Software Engineer", "Account Executive", "Customer Success Manager", "Product Designer",
    "Data Analyst", "Marketing Manager", "Recruiter", "Financial Analyst", "Sales Development Rep",
    "Support Specialist", "Engineering Manager", "Operations Lead", None,
]  # fmt: skip


# (name, parent name)
DEPARTMENTS = [
    ("Engineering", None),
    ("Backend", "Engineering"),
    ("Frontend", "Engineering"),
    ("Data", "Engineering"),
    ("Product", None),
    ("Design", "Product"),
    ("Sales", None),
    ("Customer Success", None),
    ("Marketing", None),
    ("People", None),
    ("Finance", None),
]


OFFICES = [
    ("New York", "New York, NY, United States"),
    ("San Francisco", "San Francisco, CA, United States"),
    ("London", "London, United Kingdom"),
    ("Berlin", "Berlin, Germany"),
    ("Remote", "Remote"),
]


# (job name, department, offices, stage template)
JOBS = [
    ("Sales Rep", "Sales", ["New York", "London"], "sales"),
    ("Senior Backend Engineer", "Backend", ["Berlin", "Remote"], "eng"),
    ("Backend Engineer", "Backend", ["San Francisco"], "eng"),
    ("Staff Platform Engineer", "Backend", ["Remote"], "eng"),
    ("Frontend Engineer", "Frontend", ["London", "Remote"], "eng"),
    ("Data Engineer", "Data", ["Berlin"], "eng"),
    ("Machine Learning Engineer", "Data", ["San Francisco", "Remote"], "eng"),
    ("Engineering Manager, Payments", "Engineering", ["New York"], "eng"),
    ("Product Manager", "Product", ["New York", "London"], "generic"),
    ("Senior Product Designer", "Design", ["Berlin"], "design"),
    ("Account Executive, Enterprise", "Sales", ["New York"], "sales"),
    ("Sales Development Representative", "Sales", ["London"], "sales"),
    ("Customer Success Manager", "Customer Success", ["San Francisco", "Remote"], "generic"),
    ("Support Specialist", "Customer Success", ["Berlin"], "short"),
    ("Growth Marketing Manager", "Marketing", ["New York"], "generic"),
    ("Content Marketing Lead", "Marketing", ["Remote"], "short"),
    ("Technical Recruiter", "People", ["London"], "short"),
    ("People Partner", "People", ["Berlin"], "generic"),
    ("Financial Analyst", "Finance", ["New York"], "generic"),
    ("Controller", "Finance", ["London"], "generic"),
]


STAGE_TEMPLATES = {
    "sales": [
        "Application Review",
        "Recruiter Phone Screen",
        "Hiring Manager Screen",
        "Onsite Interview",
        "Reference Check",
        "Offer",
    ],
    "eng": [
        "Application Review",
        "Recruiter Phone Screen",
        "Hiring Manager Screen",
        "Take Home Test",
        "Onsite Interview",
        "Reference Check",
        "Offer",
    ],
    "design": [
        "Application Review",
        "Recruiter Phone Screen",
        "Portfolio Review",
        "Onsite Interview",
        "Offer",
    ],
    "generic": [
        "Application Review",
        "Recruiter Phone Screen",
        "Hiring Manager Screen",
        "Assessment",
        "Onsite Interview",
        "Offer",
    ],
    "short": [
        "Application Review",
        "Recruiter Phone Screen",
        "Hiring Manager Screen",
        "Onsite Interview",
        "Offer",
    ],
}


# Ordered list of every stage name, used for Lever's global pipeline.
STAGE_ORDER = [
    "Application Review",
    "Recruiter Phone Screen",
    "Hiring Manager Screen",
    "Portfolio Review",
    "Take Home Test",
    "Assessment",
    "Onsite Interview",
    "Reference Check",
    "Offer",
]


SOURCES = [
    ("LinkedIn", "Prospecting"),
    ("Indeed", "Job Board"),
    ("Company Website", "Company Marketing"),
    ("Referral", "Referrals"),
    ("Agency", "Agencies"),
    ("Glassdoor", "Job Board"),
    ("Meetup", "Events"),
    ("AngelList", "Job Board"),
]


TAGS = [
    "Python", "Go", "React", "Enterprise Sales", "SaaS", "Bilingual", "Silver Medalist",
    "Referral Bonus", "Relocation", "Visa Sponsorship", "Remote Only", "Leadership",
]  # fmt: skip


REJECTION_REASONS = [
    ("Lacking skill(s)/qualification(s)", "We rejected them"),
    ("Not a culture add", "We rejected them"),
    ("Hired another candidate", "We rejected them"),
    ("Position closed", "None specified"),
    ("Compensation expectations", "They rejected us"),
    ("Accepted another offer", "They rejected us"),
    ("Unresponsive", "None specified"),
]


INTERVIEW_NAMES = {
    "Recruiter Phone Screen": ["Recruiter Call"],
    "Hiring Manager Screen": ["Hiring Manager Call"],
    "Take Home Test": ["Take Home Review"],
    "Assessment": ["Skills Assessment"],
    "Portfolio Review": ["Portfolio Presentation"],
    "Onsite Interview": ["Technical Deep Dive", "Values Interview", "Team Lunch"],
    "Reference Check": ["Reference Call"],
}


EMAIL_DOMAINS = ["example.com", "example.org", "mail.example.net", "example.co.uk", "example.de"]
