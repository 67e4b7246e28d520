use super::*;
use crate::edit::FileChange;

fn spec(s: &str) -> NetworkSpec {
    s.parse().unwrap()
}

/// Applies `spec` to the files, checks a second run changes nothing, returns the edits.
fn apply(
    files: &[(&str, &str)],
    flags: (bool, bool, bool),
    s: &str,
    style: NetworkStyle,
) -> Vec<(String, String, Option<u32>)> {
    let guest = GuestNetwork {
        files: files
            .iter()
            .map(|(p, c)| GuestFile {
                path: p,
                content: c.as_bytes(),
            })
            .collect(),
        netplan_dir: flags.0,
        networkmanager: flags.1,
        ifcfg_dir: flags.2,
    };
    let sp = spec(s);
    let edits = network_edits(&guest, &sp, style);
    let out: Vec<(String, String, Option<u32>)> = edits
        .iter()
        .map(|e| match &e.change {
            FileChange::Write { content, mode } => (
                e.path.clone(),
                String::from_utf8(content.clone()).unwrap(),
                *mode,
            ),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    // second run over the new files
    let mut after: Vec<(String, String)> = files
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect();
    for (p, c, _) in &out {
        match after.iter_mut().find(|(ap, _)| ap == p) {
            Some(slot) => slot.1 = c.clone(),
            None => after.push((p.clone(), c.clone())),
        }
    }
    let guest2 = GuestNetwork {
        files: after
            .iter()
            .map(|(p, c)| GuestFile {
                path: p,
                content: c.as_bytes(),
            })
            .collect(),
        ..guest
    };
    for e in network_edits(&guest2, &sp, style) {
        let FileChange::Write { content, .. } = &e.change else {
            panic!()
        };
        let before = after
            .iter()
            .find(|(p, _)| *p == e.path)
            .map(|(_, c)| c.as_bytes());
        assert_eq!(
            Some(content.as_slice()),
            before,
            "second run changed {}",
            e.path
        );
    }
    out
}

#[test]
fn spec_parsing() {
    assert_eq!(spec("eth0:dhcp").config, IpConfig::Dhcp);
    let s = spec("ens3:static:192.0.2.10/24:192.0.2.1:1.1.1.1,2606:4700:4700::1111");
    let IpConfig::Static(c) = &s.config else {
        panic!()
    };
    assert_eq!(c.cidr(), "192.0.2.10/24");
    assert_eq!(c.gateway, Some("192.0.2.1".parse().unwrap()));
    assert_eq!(c.dns.len(), 2);
    assert_eq!(c.netmask_v4().as_deref(), Some("255.255.255.0"));
    let s = spec("eth0:static:2001:db8::5/64:2001:db8::1");
    let IpConfig::Static(c) = &s.config else {
        panic!()
    };
    assert_eq!(
        (c.cidr().as_str(), c.gateway.unwrap().to_string().as_str()),
        ("2001:db8::5/64", "2001:db8::1")
    );
    assert_eq!(s.family(), Family::V6);
    let s = spec(
        "eth0:static:[2001:db8::5]/64:[2001:db8::1]:2001:4860:4860::8888,2001:4860:4860::8844",
    );
    let IpConfig::Static(c) = &s.config else {
        panic!()
    };
    assert_eq!(c.dns.len(), 2);
    let s = spec("eth0:static:10.0.0.5/8::9.9.9.9");
    let IpConfig::Static(c) = &s.config else {
        panic!()
    };
    assert_eq!((c.gateway, c.dns.len()), (None, 1));
    assert_eq!(
        spec("eth0:static:10.0.0.5/8").to_string(),
        "eth0:static:10.0.0.5/8"
    );
    for bad in [
        "eth0",
        "eth0:",
        "eth0:dhcp6",
        "eth0:static:10.0.0.5",
        "eth0:static:10.0.0.5/33",
        "eth0:static:10.0.0.256/24",
        "eth0:static:10.0.0.5/24:2001:db8::1",
        "lo:dhcp",
        "eth0:static:2001:db8::5/64:2001:db8::1:8.8.8.8,1.1.1.1",
        "e/0:dhcp",
        "eth0:static:10.0.0.5/24x",
    ] {
        assert!(bad.parse::<NetworkSpec>().is_err(), "{bad}");
    }
    assert!("eth0:static:1.2.3.4"
        .parse::<NetworkSpec>()
        .unwrap_err()
        .to_string()
        .contains("[brackets]"));
}

#[test]
fn style_choice() {
    let eth0 = IfaceName::parse("eth0").unwrap();
    let g = |files: Vec<(&'static str, &'static [u8])>, np, nm, ic| GuestNetwork {
        files: files
            .into_iter()
            .map(|(path, content)| GuestFile { path, content })
            .collect(),
        netplan_dir: np,
        networkmanager: nm,
        ifcfg_dir: ic,
    };
    let interfaces: &[u8] = b"auto lo\niface lo inet loopback\n";
    // Ubuntu 22.04/24.04
    assert_eq!(
        pick_style(&g(vec![], true, false, false), &eth0),
        NetworkStyle::Netplan
    );
    // Rocky/RHEL 9: NetworkManager, an empty network-scripts directory
    assert_eq!(
        pick_style(&g(vec![], false, true, true), &eth0),
        NetworkStyle::Keyfile
    );
    // Rocky 8: ifcfg-eth0
    let r8 = vec![(
        "/etc/sysconfig/network-scripts/ifcfg-eth0",
        &b"DEVICE=eth0\n"[..],
    )];
    assert_eq!(
        pick_style(&g(r8, false, true, true), &eth0),
        NetworkStyle::Ifcfg
    );
    // RHEL 8 with ifcfg for another NIC: ifcfg style for the new one too
    let r8b = vec![(
        "/etc/sysconfig/network-scripts/ifcfg-ens3",
        &b"DEVICE=ens3\n"[..],
    )];
    assert_eq!(
        pick_style(&g(r8b, false, true, true), &eth0),
        NetworkStyle::Ifcfg
    );
    // Debian 12 server
    assert_eq!(
        pick_style(
            &g(vec![(debian::MAIN, interfaces)], false, false, false),
            &eth0
        ),
        NetworkStyle::Debian
    );
    // Debian desktop: NetworkManager manages everything but lo
    assert_eq!(
        pick_style(
            &g(vec![(debian::MAIN, interfaces)], false, true, false),
            &eth0
        ),
        NetworkStyle::Keyfile
    );
    // ...unless interfaces names the NIC
    let with_eth0: &[u8] =
        b"auto lo\niface lo inet loopback\nallow-hotplug eth0\niface eth0 inet dhcp\n";
    assert_eq!(
        pick_style(
            &g(vec![(debian::MAIN, with_eth0)], false, true, false),
            &eth0
        ),
        NetworkStyle::Debian
    );
    // an existing keyfile for the NIC wins over ifcfg files
    let kf = vec![
        (
            "/etc/sysconfig/network-scripts/ifcfg-ens3",
            &b"DEVICE=ens3\n"[..],
        ),
        (
            "/etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection",
            &b"[connection]\ninterface-name=eth0\n"[..],
        ),
    ];
    assert_eq!(
        pick_style(&g(kf, false, true, true), &eth0),
        NetworkStyle::Keyfile
    );
    // Arch, Debian with networkd only
    assert_eq!(
        pick_style(&g(vec![], false, false, false), &eth0),
        NetworkStyle::Networkd
    );
}

const DEBIAN12: &str = "# This file describes the network interfaces available on your system\n# and how to activate them. For more information, see interfaces(5).\n\nsource /etc/network/interfaces.d/*\n\n# The loopback network interface\nauto lo\niface lo inet loopback\n\n# The primary network interface\nallow-hotplug ens3\niface ens3 inet dhcp\n# This is an autoconfigured IPv6 interface\niface ens3 inet6 auto\n";

#[test]
fn debian12_dhcp_to_static_keeps_inet6_and_allow_hotplug() {
    let out = apply(
        &[(debian::MAIN, DEBIAN12)],
        (false, false, false),
        "ens3:static:192.0.2.10/24:192.0.2.1:192.0.2.53,192.0.2.54",
        NetworkStyle::Debian,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, debian::MAIN);
    assert_eq!(
        out[0].1,
        DEBIAN12.replace("iface ens3 inet dhcp\n", "iface ens3 inet static\n\taddress 192.0.2.10/24\n\tgateway 192.0.2.1\n\tdns-nameservers 192.0.2.53 192.0.2.54\n")
    );
}

#[test]
fn debian_static_stanza_keeps_unmanaged_options_and_indent() {
    let c = "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 10.0.0.5\n    netmask 255.255.255.0\n    gateway 10.0.0.1\n    mtu 9000\n    # resolvconf\n    dns-search example.com\n    dns-nameservers 10.0.0.2\n\nauto eth1\niface eth1 inet dhcp\n";
    let out = apply(
        &[(debian::MAIN, c)],
        (false, false, false),
        "eth0:dhcp",
        NetworkStyle::Debian,
    );
    assert_eq!(out[0].1, "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n    mtu 9000\n    # resolvconf\n    dns-search example.com\n\nauto eth1\niface eth1 inet dhcp\n");
    // IPv6 added after the inet stanza, no second auto line
    let out = apply(
        &[(debian::MAIN, c)],
        (false, false, false),
        "eth0:static:2001:db8::5/64:2001:db8::1",
        NetworkStyle::Debian,
    );
    assert!(out[0].1.contains("    dns-nameservers 10.0.0.2\niface eth0 inet6 static\n\taddress 2001:db8::5/64\n\tgateway 2001:db8::1\n\nauto eth1\n"), "{}", out[0].1);
    assert_eq!(out[0].1.matches("auto eth0").count(), 1);
}

#[test]
fn debian_new_interface_odd_files() {
    // no trailing newline, CRLF
    let out = apply(
        &[(debian::MAIN, "auto lo\r\niface lo inet loopback")],
        (false, false, false),
        "eth1:dhcp",
        NetworkStyle::Debian,
    );
    assert_eq!(
        out[0].1,
        "auto lo\r\niface lo inet loopback\r\n\r\nauto eth1\r\niface eth1 inet dhcp\r\n"
    );
    // a missing file
    let out = apply(
        &[],
        (false, false, false),
        "eth1:dhcp",
        NetworkStyle::Debian,
    );
    assert_eq!(out[0].1, "auto eth1\niface eth1 inet dhcp\n");
    // duplicate stanzas for the same family: the second one goes
    let dup = "iface eth0 inet dhcp\n\niface eth0 inet static\n\taddress 1.2.3.4/24\n";
    let out = apply(
        &[(debian::MAIN, dup)],
        (false, false, false),
        "eth0:dhcp",
        NetworkStyle::Debian,
    );
    assert_eq!(out[0].1, "auto eth0\niface eth0 inet dhcp\n\n");
}

#[test]
fn debian_interfaces_d_file_is_edited_where_the_stanza_lives() {
    let main = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n";
    let cloud = "auto eth0\niface eth0 inet dhcp\n";
    let other = "auto eth1\niface eth1 inet dhcp\n";
    let files = [
        (debian::MAIN, main),
        ("/etc/network/interfaces.d/50-cloud-init", cloud),
        ("/etc/network/interfaces.d/60-eth1", other),
    ];
    let out = apply(
        &files,
        (false, false, false),
        "eth0:static:10.1.2.3/16:10.1.0.1",
        NetworkStyle::Debian,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "/etc/network/interfaces.d/50-cloud-init");
    assert_eq!(
        out[0].1,
        "auto eth0\niface eth0 inet static\n\taddress 10.1.2.3/16\n\tgateway 10.1.0.1\n"
    );
    // not sourced: a file in interfaces.d is ignored and the main file gets the stanza
    let unsourced = [
        (debian::MAIN, "auto lo\niface lo inet loopback\n"),
        ("/etc/network/interfaces.d/50-cloud-init", cloud),
    ];
    let out = apply(
        &unsourced,
        (false, false, false),
        "eth0:dhcp",
        NetworkStyle::Debian,
    );
    assert_eq!(out[0].0, debian::MAIN);
}

const ROCKY8_IFCFG: &str = "TYPE=Ethernet\nPROXY_METHOD=none\nBROWSER_ONLY=no\nBOOTPROTO=dhcp\nDEFROUTE=yes\nIPV4_FAILURE_FATAL=no\nIPV6INIT=yes\nIPV6_AUTOCONF=yes\nIPV6_DEFROUTE=yes\nIPV6_FAILURE_FATAL=no\nNAME=eth0\nUUID=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\nDEVICE=eth0\nONBOOT=yes\nHWADDR=52:54:00:6b:3c:58\n";

#[test]
fn rocky8_ifcfg_static_then_dhcp() {
    let p = "/etc/sysconfig/network-scripts/ifcfg-eth0";
    let out = apply(
        &[(p, ROCKY8_IFCFG)],
        (false, true, true),
        "eth0:static:192.0.2.10/24:192.0.2.1:192.0.2.53",
        NetworkStyle::Ifcfg,
    );
    assert_eq!(
        out[0].1,
        ROCKY8_IFCFG.replace("BOOTPROTO=dhcp", "BOOTPROTO=none")
            + "IPADDR=192.0.2.10\nPREFIX=24\nGATEWAY=192.0.2.1\nDNS1=192.0.2.53\n"
    );
    let back = apply(
        &[(p, &out[0].1)],
        (false, true, true),
        "eth0:dhcp",
        NetworkStyle::Ifcfg,
    );
    // DHCP brings its own DNS servers: the static IPv4 one goes
    assert_eq!(back[0].1, ROCKY8_IFCFG);
    let v6 = apply(
        &[(p, &out[0].1)],
        (false, true, true),
        "eth0:static:2001:db8::a/64:2001:db8::1:[2001:db8::53]",
        NetworkStyle::Ifcfg,
    );
    assert!(v6[0].1.contains("IPV6_AUTOCONF=no\n") && v6[0].1.ends_with("GATEWAY=192.0.2.1\nDNS1=192.0.2.53\nIPV6ADDR=2001:db8::a/64\nIPV6_DEFAULTGW=2001:db8::1\nDNS2=2001:db8::53\n"), "{}", v6[0].1);
}

#[test]
fn ifcfg_new_file_and_old_netmask() {
    let out = apply(&[], (false, false, true), "eth1:dhcp", NetworkStyle::Ifcfg);
    assert_eq!(
        out[0],
        (
            "/etc/sysconfig/network-scripts/ifcfg-eth1".into(),
            "DEVICE=eth1\nNAME=eth1\nTYPE=Ethernet\nBOOTPROTO=dhcp\nONBOOT=yes\n".into(),
            None
        )
    );
    let centos6 = "DEVICE=\"eth0\"\r\nBOOTPROTO=\"static\"\r\nIPADDR=\"10.0.0.5\"\r\nNETMASK=\"255.0.0.0\"\r\nONBOOT=\"no\"";
    let out = apply(
        &[("/etc/sysconfig/network-scripts/ifcfg-eth0", centos6)],
        (false, false, true),
        "eth0:static:10.0.0.6/8",
        NetworkStyle::Ifcfg,
    );
    assert_eq!(out[0].1, "DEVICE=\"eth0\"\r\nBOOTPROTO=\"none\"\r\nIPADDR=\"10.0.0.6\"\r\nONBOOT=\"yes\"\r\nPREFIX=8\r\n");
}

const RHEL9_KEYFILE: &str = "[connection]\nid=System eth0\nuuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03\ntype=ethernet\ninterface-name=eth0\nautoconnect-priority=120\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n\n[proxy]\n\n[user]\norg.freedesktop.NetworkManager.origin=nm-initrd-generator\n";

#[test]
fn rhel9_keyfile_edited_in_place() {
    let p = "/etc/NetworkManager/system-connections/cloud-init-eth0.nmconnection";
    let out = apply(
        &[(p, RHEL9_KEYFILE)],
        (false, true, true),
        "eth0:static:192.0.2.10/24:192.0.2.1:192.0.2.53,2001:db8::53",
        NetworkStyle::Keyfile,
    );
    assert_eq!(out[0].0, p);
    assert_eq!(out[0].2, Some(0o600));
    assert_eq!(
        out[0].1,
        RHEL9_KEYFILE
            .replace(
                "[ipv4]\nmethod=auto\n",
                "[ipv4]\nmethod=manual\naddress1=192.0.2.10/24,192.0.2.1\ndns=192.0.2.53;\n"
            )
            .replace(
                "addr-gen-mode=eui64\nmethod=auto\n",
                "addr-gen-mode=eui64\nmethod=auto\ndns=2001:db8::53;\n"
            )
    );
    let back = apply(
        &[(p, &out[0].1)],
        (false, true, true),
        "eth0:dhcp",
        NetworkStyle::Keyfile,
    );
    assert_eq!(
        back[0].1,
        RHEL9_KEYFILE.replace(
            "method=auto\n\n[proxy]",
            "method=auto\ndns=2001:db8::53;\n\n[proxy]"
        )
    );
}

#[test]
fn keyfile_new_profile() {
    let out = apply(
        &[],
        (false, true, true),
        "ens3:static:2001:db8::5/64",
        NetworkStyle::Keyfile,
    );
    assert_eq!(
        out[0].0,
        "/etc/NetworkManager/system-connections/ens3.nmconnection"
    );
    let uuid = out[0]
        .1
        .lines()
        .find_map(|l| l.strip_prefix("uuid="))
        .unwrap()
        .to_owned();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "8");
    assert_eq!(
        out[0].1,
        format!("[connection]\nid=ens3\nuuid={uuid}\ntype=ethernet\ninterface-name=ens3\n\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=manual\naddress1=2001:db8::5/64\n")
    );
    // a different interface gets a different uuid
    let other = apply(&[], (false, true, true), "ens4:dhcp", NetworkStyle::Keyfile);
    assert!(!other[0].1.contains(&uuid));
}

const UBUNTU2204_CLOUD: &str = "# This file is generated from information provided by the datasource.  Changes\n# to it will not persist across an instance reboot.  To disable cloud-init's\n# network configuration capabilities, write a file\n# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:\n# network: {config: disabled}\nnetwork:\n    ethernets:\n        ens3:\n            dhcp4: true\n            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: ens3\n        ens4:\n            dhcp4: true\n            optional: true\n    version: 2\n";

#[test]
fn ubuntu2204_cloud_init_netplan_edited_in_place() {
    let p = "/etc/netplan/50-cloud-init.yaml";
    let out = apply(
        &[(p, UBUNTU2204_CLOUD)],
        (true, false, false),
        "ens3:static:192.0.2.10/24:192.0.2.1:192.0.2.53,192.0.2.54",
        NetworkStyle::Netplan,
    );
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0.as_str(), out[0].2), (p, Some(0o600)));
    assert_eq!(
        out[0].1,
        UBUNTU2204_CLOUD.replace(
            "            dhcp4: true\n            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: ens3\n",
            "            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: ens3\n            addresses:\n                - 192.0.2.10/24\n            routes:\n                - to: default\n                  via: 192.0.2.1\n            nameservers:\n                addresses:\n                    - 192.0.2.53\n                    - 192.0.2.54\n"
        )
    );
    // back to DHCP: the static settings go, ens4 untouched
    let back = apply(
        &[(p, &out[0].1)],
        (true, false, false),
        "ens3:dhcp",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        back[0].1,
        UBUNTU2204_CLOUD.replace(
            "            dhcp4: true\n            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: ens3\n",
            "            match:\n                macaddress: 52:54:00:12:34:56\n            set-name: ens3\n            dhcp4: true\n"
        )
    );
}

const UBUNTU2404_INSTALLER: &str = "# This is the network config written by 'subiquity'\nnetwork:\n  ethernets:\n    enp1s0:\n      addresses:\n      - 10.0.0.20/24\n      - \"2001:db8::20/64\"\n      nameservers:\n        addresses:\n        - 10.0.0.1\n        search: [lab.example]\n      routes:\n      - to: default\n        via: 10.0.0.1\n      - to: 172.16.0.0/12\n        via: 10.0.0.254\n  version: 2";

#[test]
fn ubuntu2404_installer_static_v4_change_keeps_v6_and_other_routes() {
    let p = "/etc/netplan/50-cloud-init.yaml";
    let out = apply(
        &[(p, UBUNTU2404_INSTALLER)],
        (true, false, false),
        "enp1s0:static:10.0.0.30/24:10.0.0.2:10.0.0.3",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        out[0].1,
        "# This is the network config written by 'subiquity'\nnetwork:\n  ethernets:\n    enp1s0:\n      addresses:\n        - \"2001:db8::20/64\"\n        - 10.0.0.30/24\n      routes:\n        - to: 172.16.0.0/12\n          via: 10.0.0.254\n        - to: default\n          via: 10.0.0.2\n      nameservers:\n        addresses:\n          - 10.0.0.3\n        search: [lab.example]\n  version: 2"
    );
}

#[test]
fn netplan_own_file_when_no_file_defines_the_interface() {
    let other = "network:\n  version: 2\n  renderer: NetworkManager\n";
    let out = apply(
        &[("/etc/netplan/01-network-manager-all.yaml", other)],
        (true, true, false),
        "eth1:static:2001:db8::7/64:2001:db8::1",
        NetworkStyle::Netplan,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "/etc/netplan/90-guestwright-eth1.yaml");
    assert_eq!(
        out[0].1,
        "# Written by guestwright --network eth1.\nnetwork:\n  version: 2\n  ethernets:\n    eth1:\n      addresses:\n        - \"2001:db8::7/64\"\n      routes:\n        - to: default\n          via: \"2001:db8::1\"\n"
    );
    // a later file defining the same interface loses its v4 settings
    let a = "network:\n  ethernets:\n    eth0:\n      dhcp4: true\n";
    let b = "network:\n  ethernets:\n    eth0:\n      addresses: [10.9.9.9/24]\n      mtu: 9000\n";
    let out = apply(
        &[("/etc/netplan/50-a.yaml", a), ("/etc/netplan/60-b.yaml", b)],
        (true, false, false),
        "eth0:static:10.0.0.5/24",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        out[0].1,
        "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 10.0.0.5/24\n"
    );
    assert_eq!(
        out[1].1,
        "network:\n  ethernets:\n    eth0:\n      mtu: 9000\n"
    );
}

#[test]
fn networkd_catch_all_gets_an_earlier_file_and_exact_match_is_edited() {
    let catch_all = "[Match]\nName=e*\n\n[Network]\nDHCP=yes\n";
    let out = apply(
        &[("/etc/systemd/network/99-dhcp.network", catch_all)],
        (false, false, false),
        "ens3:static:192.0.2.10/24:192.0.2.1:192.0.2.53",
        NetworkStyle::Networkd,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "/etc/systemd/network/00-guestwright-ens3.network");
    assert_eq!(out[0].1, "[Match]\nName=ens3\n\n[Network]\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n");

    let exact = "# managed by ops\n[Match]\nName=ens3\n\n[Network]\nDHCP=yes\nAddress=2001:db8::5/64\nDNS=2001:db8::53 192.0.2.99\nLLMNR=no\n\n[Link]\nMTUBytes=9000";
    let out = apply(
        &[("/etc/systemd/network/10-ens3.network", exact)],
        (false, false, false),
        "ens3:static:192.0.2.10/24:192.0.2.1:192.0.2.53",
        NetworkStyle::Networkd,
    );
    assert_eq!(out[0].0, "/etc/systemd/network/10-ens3.network");
    assert_eq!(out[0].1, "# managed by ops\n[Match]\nName=ens3\n\n[Network]\nDHCP=ipv6\nAddress=2001:db8::5/64\nLLMNR=no\nDNS=2001:db8::53\nAddress=192.0.2.10/24\nGateway=192.0.2.1\nDNS=192.0.2.53\n\n[Link]\nMTUBytes=9000");
    let back = apply(
        &[("/etc/systemd/network/10-ens3.network", &out[0].1)],
        (false, false, false),
        "ens3:dhcp",
        NetworkStyle::Networkd,
    );
    assert_eq!(back[0].1, "# managed by ops\n[Match]\nName=ens3\n\n[Network]\nDHCP=yes\nAddress=2001:db8::5/64\nLLMNR=no\nDNS=2001:db8::53\n\n[Link]\nMTUBytes=9000");
}

#[test]
fn ifcfg_dns_keys_out_of_order_are_read_by_index() {
    // DNS2 above DNS1 (a hand edit): the servers are DNS1, DNS2, whatever the line order, so a
    // second run must not swap them. An index too large to be one is nobody's server.
    let c = "DEVICE=eth0\nDNS2=2001:db8::2\nDNS1=2001:db8::1\nDNS99999999999999999999=9.9.9.9\n";
    let out = apply(
        &[(&ifcfg::path(&spec("eth0:dhcp").iface), c)],
        (false, false, true),
        "eth0:static:192.0.2.10/24::8.8.8.8",
        NetworkStyle::Ifcfg,
    );
    let get = |k: &str| crate::edit::sysconfig::get(out[0].1.as_bytes(), k);
    assert_eq!(get("DNS1").as_deref(), Some(&b"2001:db8::1"[..]));
    assert_eq!(get("DNS2").as_deref(), Some(&b"2001:db8::2"[..]));
    assert_eq!(get("DNS3").as_deref(), Some(&b"8.8.8.8"[..]));
}

#[test]
fn netplan_dns_of_the_other_family_keeps_its_place() {
    // An IPv6 spec with an IPv4 DNS server too: the other family's server comes first (as
    // one already there would), run after run.
    let out = apply(
        &[],
        (true, false, false),
        "enp1s0:static:[2001:db8::5]/64:[2001:db8::1]:2001:4860:4860::8888,8.8.8.8",
        NetworkStyle::Netplan,
    );
    assert!(
        out[0]
            .1
            .ends_with("addresses:\n          - 8.8.8.8\n          - \"2001:4860:4860::8888\"\n"),
        "{}",
        out[0].1
    );
}

#[test]
fn ifcfg_dns_of_the_other_family_keeps_its_place() {
    let out = apply(
        &[],
        (false, false, true),
        "enp1s0:static:[2001:db8::5]/64:[2001:db8::1]:2001:4860:4860::8888,8.8.8.8",
        NetworkStyle::Ifcfg,
    );
    assert!(
        out[0]
            .1
            .contains("DNS1=8.8.8.8\nDNS2=2001:4860:4860::8888\n"),
        "{}",
        out[0].1
    );
}

#[test]
fn debian_main_file_of_one_line_ending_in_cr() {
    // No LF at all, a CR at the end: the LF added before the new stanza makes the file CRLF,
    // so the stanza must be CRLF too, or the next run rewrites it.
    let out = apply(
        &[(debian::MAIN, "source /etc/network/interfaces.d/*\r")],
        (false, false, false),
        "eth0:dhcp",
        NetworkStyle::Debian,
    );
    assert_eq!(
        out[0].1,
        "source /etc/network/interfaces.d/*\r\r\n\r\nauto eth0\r\niface eth0 inet dhcp\r\n"
    );
}

#[test]
fn netplan_empty_list_item_stays_a_string() {
    // `- ""` written back as a bare `- ` would read as a null item the next time, and move.
    let p = "/etc/netplan/00-installer-config.yaml";
    let c = "network:\n  ethernets:\n    ens3:\n      addresses:\n      - 10.0.0.9/24\n      - \"\"\n  version: 2\n";
    let out = apply(
        &[(p, c)],
        (true, false, false),
        "ens3:static:2001:db8::5/64",
        NetworkStyle::Netplan,
    );
    assert!(
        out[0]
            .1
            .contains("      - 10.0.0.9/24\n        - \"\"\n        - \"2001:db8::5/64\"\n")
            || out[0]
                .1
                .contains("        - 10.0.0.9/24\n        - \"\"\n        - \"2001:db8::5/64\"\n"),
        "{}",
        out[0].1
    );
}

#[test]
fn netplan_last_line_ending_in_a_bare_cr_keeps_it_as_its_line_end() {
    // No LF after the last item, a CR instead (and a quote never closed): the CR ends the
    // line, as YAML reads it. It is no part of the item, which stays as the guest wrote it,
    // and the file still ends in it, so the second run reads what the first wrote.
    let p = "/etc/netplan/50-cloud-init.yaml";
    let c = "network:\n  ethernets:\n    eth0:\n      mtu: 1500\n      addresses:\n        - \"10.0.0.9/24\r";
    let out = apply(
        &[(p, c)],
        (true, false, false),
        "eth0:static:2001:db8::5/64",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        out[0].1,
        "network:\n  ethernets:\n    eth0:\n      mtu: 1500\n      addresses:\n        - \"10.0.0.9/24\n        - \"2001:db8::5/64\"\r"
    );
    // A kept line last: the same.
    let c = "network:\n  ethernets:\n    eth0:\n      dhcp4: true\n      mtu: 1500\r";
    let out = apply(
        &[(p, c)],
        (true, false, false),
        "eth0:static:10.0.0.9/24",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        out[0].1,
        "network:\n  ethernets:\n    eth0:\n      mtu: 1500\n      addresses:\n        - 10.0.0.9/24\r"
    );
    // After the interface's block, the guest's own last line stays byte for byte.
    let c = "network:\n  ethernets:\n    eth0:\n      dhcp4: true\n  version: \"2\r";
    let out = apply(
        &[(p, c)],
        (true, false, false),
        "eth0:static:10.0.0.9/24",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        out[0].1,
        "network:\n  ethernets:\n    eth0:\n      addresses:\n        - 10.0.0.9/24\n  version: \"2\r"
    );
}

#[test]
fn netplan_list_items_keep_their_order() {
    // A `- x` line indented less than the route items belongs to the item above; written back
    // at the items' indentation it is an item of its own. The next run must find it where
    // the first put it, not move the plain items before the others.
    let p = "/etc/netplan/00-installer-config.yaml";
    let c = "network:\n  ethernets:\n    ens3:\n      routes:\n      - to: default\n     - corp.example\n";
    let out = apply(
        &[(p, c)],
        (true, false, false),
        "ens3:static:2001:db8::5/64",
        NetworkStyle::Netplan,
    );
    assert_eq!(
        out[0].1,
        "network:\n  ethernets:\n    ens3:\n      addresses:\n        - \"2001:db8::5/64\"\n      routes:\n        - to: default\n        - corp.example\n"
    );
    // Kept as its bytes too: a plain item is not quoted anew (`a:b` would be).
    let c = "network:\n  ethernets:\n    ens3:\n      routes:\n      - to: default\n     - corp:example\n";
    let out = apply(
        &[(p, c)],
        (true, false, false),
        "ens3:static:2001:db8::5/64",
        NetworkStyle::Netplan,
    );
    assert!(
        out[0]
            .1
            .ends_with("        - to: default\n        - corp:example\n"),
        "{}",
        out[0].1
    );
}
