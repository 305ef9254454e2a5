"""Small extracts that the tests make: MIS CSV exports and OneRoster 1.1 packages."""

import csv
import io
import zipfile

from provisioning.upn import upn_make

PUPIL_HEADER = [
    "Legal Surname",
    "Legal Forename",
    "UPN",
    "Adno",
    "Admission Date",
    "Year",
    "Reg Group",
    "Class",
    "Leaving Date",
    "Enrolment Status",
]
STAFF_HEADER = [
    "Legal Surname",
    "Legal Forename",
    "Staff Code",
    "Employment Start Date",
    "Leaving Date",
    "Role",
]


def upn(n, la=681, est=4001):
    return upn_make(la, est, 19, n)


def pupil(
    n,
    surname="Jones",
    forename="Dafydd",
    *,
    la=681,
    est=4001,
    adno=None,
    admitted="01/09/2019",
    year="Year 7",
    reg="7A",
    classes="7A/Ma1;7A/Cy1",
    leaving="",
    status="C",
    upn_value=None,
):
    return [
        surname,
        forename,
        upn_value if upn_value is not None else upn(n, la, est),
        adno if adno is not None else f"{n:06d}",
        admitted,
        year,
        reg,
        classes,
        leaving,
        status,
    ]


def staff(code, surname="Evans", forename="Siân", start="01/09/2015", leaving="", role="Teacher"):
    return [surname, forename, code, start, leaving, role]


def mis_csv(header, rows, *, encoding="utf-8", bom=False, newline="\r\n"):
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    data = buf.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def pupils_csv(rows, **kw):
    return mis_csv(PUPIL_HEADER, rows, **kw)


def staff_csv(rows, **kw):
    return mis_csv(STAFF_HEADER, rows, **kw)


def _table(header, rows):
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


USERS = [
    "sourcedId",
    "status",
    "dateLastModified",
    "enabledUser",
    "orgSourcedIds",
    "role",
    "username",
    "userIds",
    "givenName",
    "familyName",
    "middleName",
    "identifier",
    "email",
    "sms",
    "phone",
    "agentSourcedIds",
    "grades",
    "password",
]
ORGS = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
CLASSES = [
    "sourcedId",
    "status",
    "dateLastModified",
    "title",
    "grades",
    "courseSourcedId",
    "classCode",
    "classType",
    "location",
    "schoolSourcedId",
    "termSourcedIds",
    "subjects",
    "subjectCodes",
    "periods",
]
ENROL = [
    "sourcedId",
    "status",
    "dateLastModified",
    "classSourcedId",
    "schoolSourcedId",
    "userSourcedId",
    "role",
    "primary",
    "beginDate",
    "endDate",
]


def oneroster_members(
    *,
    school="6814001",
    learners=(),
    teachers=(),
    mode="bulk",
    extra_orgs=(),
    class_rows=True,
    classes_mode=None,
    stamp=None,
):
    """learners: dicts with n, given, family, adno, grade, begin, end, reg, classes, status, upn, and
    enrolments=False for a user row without its enrolments (as in a delta where only the user changed),
    left=[class titles] for enrolments a delta deletes, user=False for enrolments without
    a user row (a delta where only the enrolments changed).
    teachers: dicts with code, given, family, begin, role.
    class_rows=False leaves the learners' classes out of classes.csv (a delta where no class changed).
    stamp: every row's dateLastModified (by default a fixed time in a delta, blank in a bulk)."""
    delta = mode == "delta"
    if stamp is None:
        stamp = "2026-11-01T10:00:00Z" if delta else ""
    st = "active" if delta else ""
    orgs = [
        ["org-la", st, stamp, "Cardiff", "district", "681", ""],
        ["org-1", st, stamp, "Ysgol Prawf", "school", school, "org-la"],
        *extra_orgs,
    ]
    users, classes, enrols = [], {}, []
    for item in learners:
        uid = f"stu-{item['n']}"
        upn_value = item.get("upn", upn(item["n"]))
        for title in item.get("left", []):
            cid = f"class-{title}"
            enrols.append([f"e-{uid}-{cid}", "tobedeleted", stamp, cid, "org-1", uid, "student", "", "", ""])
        if item.get("user", True):
            users.append(
                [
                    uid,
                    item.get("status", st),
                    stamp,
                    "true",
                    "org-1",
                    "student",
                    "",
                    f"{{UPN:{upn_value}}}",
                    item.get("given", "Cerys"),
                    item.get("family", "Williams"),
                    "",
                    item.get("adno", f"{item['n']:06d}"),
                    "",
                    "",
                    "",
                    "",
                    item.get("grade", "07"),
                    "",
                ]
            )
        if not item.get("enrolments", True):
            continue
        reg = item.get("reg", "7B")
        for title, ctype in ([(reg, "homeroom")] if reg else []) + [
            (c, "scheduled") for c in item.get("classes", ["7B/Sc1"])
        ]:
            cid = f"class-{title}"
            if class_rows:
                classes[cid] = [cid, st, stamp, title, "07", "", title, ctype, "", "org-1", "", "", "", ""]
            enrols.append(
                [
                    f"e-{uid}-{cid}",
                    st,
                    stamp,
                    cid,
                    "org-1",
                    uid,
                    "student",
                    "",
                    item.get("begin", "2019-09-01"),
                    item.get("end", ""),
                ]
            )
    for item in teachers:
        uid = f"tea-{item['code']}"
        users.append(
            [
                uid,
                item.get("status", st),
                stamp,
                "true",
                "org-1",
                item.get("role", "teacher"),
                "",
                "",
                item.get("given", "Rhys"),
                item.get("family", "Morgan"),
                "",
                item["code"],
                "",
                "",
                "",
                "",
                "",
                "",
            ]
        )
        cid = "class-staffroom"
        classes[cid] = [cid, st, stamp, "Staff", "", "", "STAFF", "homeroom", "", "org-1", "", "", "", ""]
        enrols.append(
            [f"e-{uid}", st, stamp, cid, "org-1", uid, "teacher", "", item.get("begin", "2015-09-01"), ""]
        )
    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.1"]] + [
        [f"file.{n}", classes_mode if n == "classes" and classes_mode else mode]
        for n in ("orgs", "users", "classes", "enrollments")
    ]
    return {
        "manifest.csv": _table(["propertyName", "value"], manifest),
        "orgs.csv": _table(ORGS, orgs),
        "users.csv": _table(USERS, users),
        "classes.csv": _table(CLASSES, list(classes.values())),
        "enrollments.csv": _table(ENROL, enrols),
    }


def zip_bytes(members, prefix=""):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(prefix + name, data)
    return buf.getvalue()


def oneroster_zip(**kw):
    return zip_bytes(oneroster_members(**kw))
