"""Word lists for learner-style passwords, chosen for young children.

Rules every word follows (tests/passwords/test_generators.py checks them):
- lower-case ASCII letters only, 4 to 8 of them: nothing a child cannot type on a UK keyboard,
  so Welsh words with a to bach (â, ŵ, ŷ) are left out rather than stripped of their accents;
- no "l" anywhere and no leading "i": once capitalised they read as "I", "l" or "1";
- familiar, friendly things (animals, food, weather, play); nothing unkind, scary or rude in either language.
"""

ENGLISH = (
    "acorn", "amber", "anchor", "autumn", "badger", "banana", "banjo", "basket", "beach", "bean",
    "beaver", "berry", "biscuit", "bison", "boat", "book", "breeze", "bridge", "bronze", "bucket",
    "bunny", "button", "canoe", "carrot", "cedar", "cheese", "cherry", "chess", "chick", "comet",
    "compass", "cookie", "copper", "cotton", "crane", "crayon", "cricket", "daisy", "deer", "domino",
    "donkey", "drum", "duck", "engine", "ferret", "ferry", "finch", "forest", "frog",
    "frost", "garden", "gecko", "goose", "grape", "guitar", "hamster", "hare", "harbour", "heron",
    "hippo", "hockey", "honey", "horse", "jaguar", "jigsaw", "jumper", "karate", "kite", "kitten",
    "kiwi", "knight", "pumpkin", "unicorn", "magpie", "mango", "marker", "mars", "meadow", "meteor",
    "mitten", "moon", "moose", "mouse", "muffin", "music", "newt", "ocean", "onion",
    "orange", "orbit", "otter", "paint", "pancake", "panda", "paper", "parrot", "peach", "pear",
    "penguin", "pepper", "piano", "pirate", "pony", "poppy", "potato", "puffin", "puppy", "rabbit",
    "rain", "rainbow", "raven", "rhino", "ribbon", "river", "robin", "robot", "rocket", "rose",
    "ruby", "rugby", "saturn", "scarf", "scooter", "shark", "snow", "sock", "soccer", "spoon",
    "spring", "star", "starfish", "stork", "story", "storm", "sunny", "sunrise", "sunset",
    "swan", "teapot", "tennis", "thunder", "tiger", "toad", "toast", "tomato", "topaz", "toucan",
    "tower", "tractor", "train", "treasure", "trumpet", "venus", "wave", "wizard", "wren",
    "yacht", "zebra", "zipper",
)  # fmt: skip

WELSH = (
    "aderyn", "afon", "angor", "arth", "awyren", "banana", "baner", "bara", "barcud", "bedwen",
    "bore", "botwm", "brechdan", "broga", "buwch", "bwrdd", "cacen", "cadair", "canu", "cariad",
    "cartref", "cath", "cawr", "caws", "cennin", "cerdd", "ceirios", "cigfran", "coeden", "comed",
    "corgi", "coron", "cragen", "cranc", "creon", "crwban", "crys", "cwch", "cwmpawd", "cwningen",
    "cwpan", "cwtsh", "dafad", "dawns", "derwen", "dewin", "draenog", "dringo", "drudwy",
    "drwm", "drws", "dryw", "dyfrgi", "eira", "eirin", "enfys", "eryr", "ffenest", "ffrind",
    "gaeaf", "gardd", "gofod", "grawnwin", "gwanwyn", "gwenith", "gwenyn", "gwiwer",
    "gwynt", "hapus", "harbwr", "hebog", "heddwch", "hoci", "hwyaden", "hydref", "jiraff", "madarch",
    "marchog", "mefus", "menig", "mesen", "mwnci", "mwyar", "mynydd", "neidio",
    "nofio", "nyth", "onnen", "oren", "panda", "papur", "pengwin", "pioden", "pwdin", "pwmpen",
    "pyped", "pysgodyn", "rhedeg", "rhosyn", "robot", "roced", "rhuban", "rygbi", "sebra", "seren",
    "siarc", "siwmper", "sgarff", "taran", "tarian", "tebot", "tedi", "tegan", "teigr", "teisen",
    "tenis", "titw", "tonnau", "traeth", "trysor", "tywod", "tywysog", "ynys",
)  # fmt: skip

WORDS = {"en": ENGLISH, "cy": WELSH}
