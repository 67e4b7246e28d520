use super::*;

const DEB_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\nmessagebus:x:100:107::/nonexistent:/usr/sbin/nologin\nsshd:x:101:65534::/run/sshd:/usr/sbin/nologin\ndebian:x:1000:1000:Debian,,,:/home/debian:/bin/bash\n";
const DEB_SHADOW: &str = "root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\nsys:*:19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\n_apt:*:19700:0:99999:7:::\nsystemd-network:!*:19700::::::\nmessagebus:!:19700::::::\nsshd:!:19700::::::\ndebian:!:19701:0:99999:7:::\n";
const DEB_GROUP: &str = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:debian\ncdrom:x:24:debian\nsudo:x:27:debian\naudio:x:29:\nusers:x:100:\nnogroup:x:65534:\nsystemd-network:x:998:\nmessagebus:x:107:\ndebian:x:1000:\n";
const DEB_GSHADOW: &str = "root:*::\ndaemon:*::\nbin:*::\nsys:*::\nadm:*::debian\ncdrom:*::debian\nsudo:*::debian\naudio:*::\nusers:*::\nnogroup:*::\nsystemd-network:!*::\nmessagebus:!::\ndebian:!::\n";

const UBUNTU_LOGIN_DEFS: &str = "#\n# /etc/login.defs - Configuration control definitions for the login package.\n#\nMAIL_DIR        /var/mail\n# Password aging controls:\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_WARN_AGE\t7\n#\n# Min/max values for automatic uid selection in useradd\n#\nUID_MIN\t\t\t 1000\nUID_MAX\t\t\t60000\n#SYS_UID_MIN\t\t  100\nGID_MIN\t\t\t 1000\nGID_MAX\t\t\t60000\nUMASK\t\t022\nHOME_MODE\t0750\nUSERGROUPS_ENAB yes\nENCRYPT_METHOD SHA512\n";

const ROCKY_PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/sbin/nologin\nadm:x:3:4:adm:/var/adm:/sbin/nologin\nnobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin\nsshd:x:74:74:Privilege-separated SSH:/usr/share/empty.sshd:/sbin/nologin\nchrony:x:992:988:chrony system user:/var/lib/chrony:/sbin/nologin\nrocky:x:1000:1000:Cloud User:/home/rocky:/bin/bash\nalice:x:1001:1001::/home/alice:/bin/bash\n";
const ROCKY_GROUP: &str = "root:x:0:\nbin:x:1:\ndaemon:x:2:\nwheel:x:10:rocky\nadm:x:4:rocky\nsshd:x:74:\nchrony:x:988:\nrocky:x:1000:\nalice:x:1001:\ndevs:x:1002:\n";

fn db<'a>(p: &'a str, s: Option<&'a str>, g: &'a str, gs: Option<&'a str>) -> UserDb<'a> {
    UserDb {
        passwd: p.as_bytes(),
        shadow: s.map(str::as_bytes),
        group: g.as_bytes(),
        gshadow: gs.map(str::as_bytes),
    }
}

fn s(v: &[u8]) -> &str {
    std::str::from_utf8(v).unwrap()
}

fn rerun(out: &UserAdd, spec: &UserSpec, defs: &LoginDefs) {
    let d = UserDb {
        passwd: &out.passwd,
        shadow: out.shadow.as_deref(),
        group: &out.group,
        gshadow: out.gshadow.as_deref(),
    };
    let again = add_user(&d, spec, defs, 20999).unwrap();
    assert_eq!(
        &again, out,
        "a second identical --user-add must change nothing"
    );
}

#[test]
fn spec_parsing() {
    let sp: UserSpec = "alice:uid=1500,groups=sudo,adm,shell=/bin/zsh,home=/srv/alice"
        .parse()
        .unwrap();
    assert_eq!(
        sp,
        UserSpec {
            name: "alice".into(),
            uid: Some(1500),
            groups: vec!["sudo".into(), "adm".into()],
            shell: Some("/bin/zsh".into()),
            home: Some("/srv/alice".into()),
        }
    );
    assert_eq!("bob".parse::<UserSpec>().unwrap().name, "bob");
    assert_eq!("svc$".parse::<UserSpec>().unwrap().name, "svc$");
    for bad in [
        "",
        "Alice",
        "1bob",
        "bob:uid=x",
        "bob:uid=4294967295",
        "bob:shell=bash",
        "bob:home=/a/../etc",
        "bob:color=red",
        "bob:stray",
        "a:b",
        &"x".repeat(33),
    ] {
        assert!(bad.parse::<UserSpec>().is_err(), "{bad}");
    }
    let e = "bob:color=red".parse::<UserSpec>().unwrap_err().to_string();
    assert!(e.contains("color") && e.contains("NAME[:uid="), "{e}");
}

#[test]
fn login_defs() {
    let d = LoginDefs::parse(Some(UBUNTU_LOGIN_DEFS.as_bytes()));
    assert_eq!(d.home_mode, 0o750);
    assert_eq!((d.uid_min, d.uid_max), (1000, 60000));
    assert_eq!(LoginDefs::parse(None), LoginDefs::default());
    let d = LoginDefs::parse(Some(b"UID_MIN 2000\nHOME_MODE junk\nPASS_MAX_DAYS 90"));
    assert_eq!((d.uid_min, d.home_mode, d.pass_max_days), (2000, 0o700, 90));
}

#[test]
fn debian12_new_user_with_groups() {
    let spec: UserSpec = "alice:groups=sudo,audio".parse().unwrap();
    let defs = LoginDefs::default();
    let out = add_user(
        &db(DEB_PASSWD, Some(DEB_SHADOW), DEB_GROUP, Some(DEB_GSHADOW)),
        &spec,
        &defs,
        20100,
    )
    .unwrap();
    assert_eq!(
        s(&out.passwd),
        format!("{DEB_PASSWD}alice:x:1001:1001::/home/alice:/bin/bash\n")
    );
    assert_eq!(
        s(out.shadow.as_ref().unwrap()),
        format!("{DEB_SHADOW}alice:!:20100:0:99999:7:::\n")
    );
    assert_eq!(
        s(&out.group),
        DEB_GROUP
            .replace("sudo:x:27:debian", "sudo:x:27:debian,alice")
            .replace("audio:x:29:", "audio:x:29:alice")
            + "alice:x:1001:\n"
    );
    assert_eq!(
        s(out.gshadow.as_ref().unwrap()),
        DEB_GSHADOW
            .replace("sudo:*::debian", "sudo:*::debian,alice")
            .replace("audio:*::", "audio:*::alice")
            + "alice:!::\n"
    );
    assert_eq!(
        out.home,
        HomeDir {
            path: "/home/alice".into(),
            uid: 1001,
            gid: 1001,
            mode: 0o700,
            skel: "/etc/skel"
        }
    );
    rerun(&out, &spec, &defs);
}

#[test]
fn rocky9_uid_after_highest_and_gid_taken() {
    // gid 1002 belongs to "devs", so the private group gets the next free gid
    let spec: UserSpec = "carol:groups=wheel".parse().unwrap();
    let defs = LoginDefs::default();
    let out = add_user(&db(ROCKY_PASSWD, None, ROCKY_GROUP, None), &spec, &defs, 1).unwrap();
    assert_eq!(
        s(&out.passwd),
        format!("{ROCKY_PASSWD}carol:!:1002:1003::/home/carol:/bin/bash\n")
    );
    assert_eq!(
        s(&out.group),
        ROCKY_GROUP.replace("wheel:x:10:rocky", "wheel:x:10:rocky,carol") + "carol:x:1003:\n"
    );
    assert_eq!(out.shadow, None);
    assert_eq!(out.gshadow, None);
    rerun(&out, &spec, &defs);
}

#[test]
fn ubuntu_home_mode_and_explicit_uid() {
    let defs = LoginDefs::parse(Some(UBUNTU_LOGIN_DEFS.as_bytes()));
    let spec: UserSpec = "deploy:uid=2000,shell=/bin/sh,home=/srv/deploy"
        .parse()
        .unwrap();
    let out = add_user(
        &db(DEB_PASSWD, Some(DEB_SHADOW), DEB_GROUP, None),
        &spec,
        &defs,
        5,
    )
    .unwrap();
    assert!(s(&out.passwd).ends_with("\ndeploy:x:2000:2000::/srv/deploy:/bin/sh\n"));
    assert_eq!(out.home.mode, 0o750);
    assert_eq!(out.home.path, "/srv/deploy");
    rerun(&out, &spec, &defs);
}

#[test]
fn refusals() {
    let d = db(DEB_PASSWD, Some(DEB_SHADOW), DEB_GROUP, Some(DEB_GSHADOW));
    let defs = LoginDefs::default();
    let e = add_user(&d, &"debian:uid=1200".parse().unwrap(), &defs, 1).unwrap_err();
    assert_eq!(
        e,
        UserError::UserExists {
            name: "debian".into(),
            what: "uid 1000".into()
        }
    );
    let e = add_user(&d, &"eve:uid=0".parse().unwrap(), &defs, 1).unwrap_err();
    assert_eq!(
        e,
        UserError::UidTaken {
            uid: 0,
            owner: "root".into()
        }
    );
    assert!(e.to_string().contains("\"root\""));
    let e = add_user(&d, &"eve:groups=docker".parse().unwrap(), &defs, 1).unwrap_err();
    assert_eq!(e, UserError::NoSuchGroup("docker".into()));
    let e = add_user(&d, &"users".parse().unwrap(), &defs, 1).unwrap_err();
    assert_eq!(
        e,
        UserError::GroupExists {
            name: "users".into(),
            gid: 100
        }
    );
    let full = LoginDefs {
        uid_min: 1000,
        uid_max: 1000,
        ..LoginDefs::default()
    };
    let e = add_user(&d, &"eve".parse().unwrap(), &full, 1).unwrap_err();
    assert_eq!(
        e,
        UserError::NoFreeId {
            kind: "uid",
            min: 1000,
            max: 1000
        }
    );
}

#[test]
fn existing_user_same_spec_is_no_change() {
    let d = db(DEB_PASSWD, Some(DEB_SHADOW), DEB_GROUP, Some(DEB_GSHADOW));
    let out = add_user(
        &d,
        &"debian:uid=1000,groups=sudo".parse().unwrap(),
        &LoginDefs::default(),
        1,
    )
    .unwrap();
    assert_eq!(s(&out.passwd), DEB_PASSWD);
    assert_eq!(s(out.shadow.as_ref().unwrap()), DEB_SHADOW);
    assert_eq!(s(&out.group), DEB_GROUP);
    assert_eq!(s(out.gshadow.as_ref().unwrap()), DEB_GSHADOW);
    assert_eq!(out.home.uid, 1000);
}

#[test]
fn odd_files() {
    // no trailing newline, CRLF, a gap below the highest uid, short group lines
    let p = "root:x:0:0:root:/root:/bin/bash\r\nu1:x:1000:1000::/home/u1:/bin/bash\r\nu5:x:1005:1005::/home/u5:/bin/bash";
    let g = "root:x:0:\r\nstaff:x:50\r\nu1:x:1000:\r\nu5:x:1005:";
    let spec: UserSpec = "new:groups=staff".parse().unwrap();
    let out = add_user(&db(p, Some(""), g, None), &spec, &LoginDefs::default(), 7).unwrap();
    assert_eq!(
        s(&out.passwd),
        format!("{p}\r\nnew:x:1006:1006::/home/new:/bin/bash\r\n")
    );
    assert_eq!(
        s(&out.group),
        "root:x:0:\r\nstaff:x:50:new\r\nu1:x:1000:\r\nu5:x:1005:\r\nnew:x:1006:\r\n"
    );
    assert_eq!(s(out.shadow.as_ref().unwrap()), "new:!:7:0:99999:7:::\n");
    rerun(&out, &spec, &LoginDefs::default());
    // the range's top is taken: the lowest free id is used
    let p = "top:x:60000:60000::/:/bin/sh\n";
    let out = add_user(
        &db(p, None, "", None),
        &"x".parse().unwrap(),
        &LoginDefs::default(),
        1,
    )
    .unwrap();
    assert_eq!(out.home.uid, 1000);
}

#[test]
fn lookup() {
    let e = lookup_user(ROCKY_PASSWD.as_bytes(), "rocky").unwrap();
    assert_eq!(
        (e.uid, e.gid, e.home.as_str(), e.shell.as_str()),
        (1000, 1000, "/home/rocky", "/bin/bash")
    );
    assert_eq!(lookup_user(ROCKY_PASSWD.as_bytes(), "rock"), None);
    assert_eq!(
        passwd_entries(b"+::::::\n#c\nbad:x:y:1::/:/bin/sh\nok:x:1:1::/:/bin/sh\n").len(),
        1
    );
}
