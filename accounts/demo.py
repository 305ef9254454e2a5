"""Names and shapes for the demo data: Welsh and English names as schools in Wales have them."""

FORENAMES = [
    "Siân", "Llŷr", "Gwenllïan", "Ŵyn", "Dafydd", "Rhys", "Cerys", "Elin", "Osian", "Ffion", "Gethin", "Nia",
    "Iolo", "Mali", "Tomos", "Catrin", "Aled", "Megan", "Owain", "Seren", "Cai", "Lowri", "Ioan", "Alaw",
    "Emyr", "Heledd", "Macsen", "Eleri", "Guto", "Branwen", "Olivia", "Oliver", "Amelia", "Harry", "Isla",
    "Jack", "Ava", "George", "Mia", "Noah", "Ruby", "Leo", "Grace", "Arthur", "Freya", "Oscar", "Chloé",
    "Zoë", "Noël", "Renée", "Mohammed", "Aisha", "Priya", "Wiktoria", "Jakub",
]
SURNAMES = [
    "Jones", "Williams", "Davies", "Evans", "Thomas", "Roberts", "Hughes", "Lewis", "Morgan", "Griffiths",
    "Price", "Owen", "Pritchard", "Parry", "Rees", "Jenkins", "Lloyd", "Powell", "Vaughan", "Bowen",
    "ap Rhys", "ap Dafydd", "O'Brien", "O'Neill", "Jones-Williams", "Davies-Evans", "Llywelyn", "Gruffudd",
    "Pugh", "Prosser", "Watkins", "Smith", "Brown", "Taylor", "Wilson", "Khan", "Nowak", "Ní Bhriain",
    "Ellis-Jones", "Hâf", "Maddocks",
]
