use super::template::check::{check, render, Val};
use super::template::COMMIT_MESSAGE;
use super::*;
use crate::config::enrollment::Provider;
use crate::model::{TagPolicy, Update, Upstream};
use std::collections::BTreeSet;

fn image(tags: TagOrder, values: &[UpdateValue]) -> Managed {
    Managed {
        name: "api".into(),
        repo_url: "ghcr.io/org/api".into(),
        provider: Provider::Github,
        source_repo: "org/app".into(),
        branch: "main".into(),
        dockerfile: "Dockerfile".into(),
        workflow: Some("build.yml".into()),
        inputs: vec![],
        version_bump: "patch".into(),
        rebuild_delay_secs: 0,
        auto_rebuild: true,
        current_version: None,
        tags,
        bases: vec![],
        source_paths: vec![],
        updates: values
            .iter()
            .enumerate()
            .map(|(i, v)| Update {
                name: format!("u{i}"),
                repo_url: "https://github.com/org/deploy.git".into(),
                provider: Provider::Github,
                branch: "main".into(),
                path: format!("apps/u{i}/values.yaml"),
                yaml_key: Some("image.tag".into()),
                value: *v,
                value_given: true,
                entry: 0,
                index: i,
                after: None,
                soak_secs: 0,
                pull_request: false,
                argocd: None,
                verify: vec![],
                auto_promote: true,
                shard: None,
            })
            .collect(),
    }
}

#[test]
fn versions_get_a_semver_range() {
    let (f, p) = tag_policy(Image::Managed(&image(TagOrder::Versions(None), &[])));
    assert_eq!(f, None);
    assert_eq!(p, PolicyChoice::semver(">=0.0.0".into()));
    let (_, p) = tag_policy(Image::Managed(&image(
        TagOrder::Versions(Some(">=1.0.0 <2".into())),
        &[],
    )));
    assert_eq!(p, PolicyChoice::semver(">=1.0.0 <2".into()));
}

#[test]
fn build_ids_are_ordered_by_the_extracted_number_never_alphabetically() {
    let m = image(
        TagOrder::BuildId {
            pattern: "^main-[a-f0-9]+-(?P<ts>[0-9]+)$".into(),
            group: "ts".into(),
        },
        &[],
    );
    let (f, p) = tag_policy(Image::Managed(&m));
    let f = f.unwrap();
    assert_eq!(f.extract, "$ts");
    assert_eq!(p, PolicyChoice::numerical());
    let yaml = yaml_serde::to_string(&p).unwrap();
    assert!(!yaml.contains("alphabetical"), "{yaml}");
    // What the controller does: the extracted numbers, compared as numbers.
    let re = regex::Regex::new(&f.pattern).unwrap();
    let newest = ["main-fff0000-1700000000", "main-0000aaa-1800000000"]
        .into_iter()
        .max_by_key(|t| {
            let c = re.captures(t).unwrap();
            c["ts"].parse::<u64>().unwrap()
        });
    assert_eq!(newest, Some("main-0000aaa-1800000000"));
}

#[test]
fn digest_and_pinned_updates_reflect_the_digest() {
    let s = Settings::defaults("image-factory");
    for (values, want) in [
        (&[UpdateValue::Tag][..], None),
        (&[UpdateValue::Reference][..], None),
        (&[UpdateValue::Digest][..], Some("IfNotPresent")),
        (
            &[UpdateValue::Tag, UpdateValue::Pinned][..],
            Some("IfNotPresent"),
        ),
    ] {
        let p = image_policy(Image::Managed(&image(TagOrder::Versions(None), values)), &s);
        assert_eq!(p.spec.digest_reflection_policy, want, "{values:?}");
        assert_eq!(p.spec.interval, None);
    }
}

#[test]
fn one_automation_per_repo_and_branch_with_the_narrowest_path() {
    let s = Settings::defaults("image-factory");
    let mut m = image(
        TagOrder::Versions(None),
        &[UpdateValue::Tag, UpdateValue::Tag],
    );
    m.updates[1].path = "apps/u1/overlays/prod".into();
    m.updates[1].yaml_key = None;
    let model = Model {
        catalog: crate::model::Catalog::default(),
        managed: vec![m],
        upstream: vec![],
    };
    let out = output(&model, &s).unwrap();
    let kinds: Vec<_> = out.names().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            "ImageRepository",
            "ImagePolicy",
            "GitRepository",
            "ImageUpdateAutomation"
        ]
    );
    let Resource::ImageUpdateAutomation(a) = out.get(3) else {
        panic!()
    };
    assert_eq!(a.spec.update.path, "./apps");
    assert_eq!(a.spec.policy_selector.match_expressions[0].values, ["api"]);
    assert!(
        a.spec.source_ref.name.starts_with("org-deploy-"),
        "{}",
        a.spec.source_ref.name
    );
    assert_eq!(
        a.spec.source_ref.name,
        git_repository_name("https://github.com/org/deploy.git")
    );
}

#[test]
fn an_existing_git_repository_is_referenced_not_generated() {
    let mut s = Settings::defaults("image-factory");
    s.flux.git_repositories = vec![("org/deploy".into(), "flux-system".into())];
    assert_eq!(
        s.flux
            .existing_git_repository("https://github.com/xorg/deploy.git"),
        None
    );
    let model = Model {
        catalog: crate::model::Catalog::default(),
        managed: vec![image(TagOrder::Versions(None), &[UpdateValue::Tag])],
        upstream: vec![],
    };
    let out = output(&model, &s).unwrap();
    assert!(out.names().iter().all(|(k, _)| *k != "GitRepository"));
    let Resource::ImageUpdateAutomation(a) = out.get(2) else {
        panic!()
    };
    assert_eq!(a.spec.source_ref.name, "flux-system");
}

#[test]
fn the_commit_template_uses_only_fields_the_controller_provides() {
    check(COMMIT_MESSAGE).unwrap();
}

#[test]
fn the_template_checker_rejects_what_fails_on_v1() {
    // Removed in v1.
    let e = check("{{ .Updated }}").unwrap_err();
    assert!(
        e.contains("can't evaluate field Updated in type source.TemplateData"),
        "{e}"
    );
    // The Flux plan's template: dot is a []Change inside the range.
    assert!(check("{{ range .Changed.Objects }}{{ .Key.Name }}{{ end }}").is_err());
    // The fix: bind the key.
    check("{{ range $obj, $c := .Changed.Objects }}{{ $obj.Name }}{{ range $c }}{{ .NewValue }}{{ end }}{{ end }}")
        .unwrap();
    check(
        "{{ range $f, $o := .Changed.FileChanges }}{{ $f }}{{ end }}{{ $.AutomationObject.Name }}",
    )
    .unwrap();
}

fn external(policy: TagPolicy, updates: Vec<Update>) -> Upstream {
    Upstream {
        name: "postgres".into(),
        kind: crate::model::UpstreamKind::External,
        repo_url: "docker.io/library/postgres".into(),
        tag: Some("16-alpine".into()),
        tag_regex: "^16-alpine$".into(),
        policy,
        updates,
    }
}

#[test]
fn external_images_follow_their_selection_strategy() {
    let s = Settings::defaults("image-factory");
    let ups = image(TagOrder::Versions(None), &[UpdateValue::Tag]).updates;
    // Watched by a regex: the strategy decides.
    let mut u = external(TagPolicy::Semver, ups.clone());
    u.tag = None;
    u.tag_regex = r"^16\.[0-9]+\.[0-9]+$".into();
    let p = image_policy(Image::External(&u), &s);
    assert_eq!(p.spec.policy, PolicyChoice::semver(">=0.0.0".into()));
    assert_eq!(p.spec.filter_tags.unwrap().pattern, u.tag_regex);
    // One mutable tag: the digest is reflected always, at the base interval.
    let u = external(TagPolicy::Digest, ups.clone());
    let p = image_policy(Image::External(&u), &s);
    assert_eq!(p.spec.policy, PolicyChoice::alphabetical());
    assert_eq!(p.spec.digest_reflection_policy, Some("Always"));
    assert_eq!(p.spec.interval.as_deref(), Some("24h"));
    // NewestBuild is a loss, said once.
    let model = Model {
        catalog: crate::model::Catalog::default(),
        managed: vec![],
        upstream: vec![external(TagPolicy::NewestBuild, ups)],
    };
    let w = losses(&model);
    assert!(w.iter().any(|d| d.message.contains("NewestBuild")), "{w:?}");
    assert_eq!(output(&model, &s).unwrap().len(), 4);
}

/// What image-reflector-controller v1.0.0 does with the tags it lists:
/// `filterTags` keeps the matching ones (`internal/policy/filter.go`), then
/// `alphabetical` sorts them and takes the greatest
/// (`internal/policy/alphabetical.go:54-65`). A port, to run the policy.
fn select(filter: &TagFilter, policy: &PolicyChoice, tags: &[&str]) -> Option<String> {
    let re = regex::Regex::new(&filter.pattern).unwrap();
    let kept: Vec<&str> = tags.iter().copied().filter(|t| re.is_match(t)).collect();
    assert!(
        policy.alphabetical.is_some(),
        "only the alphabetical policy is ported here: {policy:?}"
    );
    kept.into_iter().max().map(str::to_string)
}

#[test]
fn an_external_image_with_one_tag_selects_that_tag_whatever_its_strategy() {
    // `16-alpine` is not a version: Flux's semver policy would find no
    // version in range and fail ("unable to determine latest version").
    let s = Settings::defaults("image-factory");
    let tags = ["15-alpine", "16", "16-alpine", "16-alpine3.20", "17-alpine"];
    for policy in [
        TagPolicy::Semver,
        TagPolicy::Lexical,
        TagPolicy::Digest,
        TagPolicy::NewestBuild,
    ] {
        let u = external(policy, vec![]);
        let (f, p) = tag_policy(Image::External(&u));
        let f = f.unwrap();
        assert_eq!(f.pattern, "^16-alpine$", "{policy:?}");
        assert_eq!(p, PolicyChoice::alphabetical(), "{policy:?}");
        assert_eq!(
            select(&f, &p, &tags).as_deref(),
            Some("16-alpine"),
            "{policy:?}"
        );
        let pol = image_policy(Image::External(&u), &s);
        assert!(pol.spec.policy.semver.is_none(), "{policy:?}");
    }
    // Digest strategy with a broader stored filter still follows its tag.
    let mut u = external(TagPolicy::Digest, vec![]);
    u.tag_regex = "^16-.*$".into();
    let (f, _) = tag_policy(Image::External(&u));
    assert_eq!(f.unwrap().pattern, "^16-alpine$");
}

#[test]
fn an_external_image_whose_digest_is_written_rereads_it_for_every_strategy() {
    let s = Settings::defaults("image-factory");
    for policy in [
        TagPolicy::Semver,
        TagPolicy::Lexical,
        TagPolicy::Digest,
        TagPolicy::NewestBuild,
    ] {
        for value in [UpdateValue::Digest, UpdateValue::Pinned] {
            let ups = image(TagOrder::Versions(None), &[value]).updates;
            let u = external(policy, ups);
            let p = image_policy(Image::External(&u), &s);
            assert_eq!(
                p.spec.digest_reflection_policy,
                Some("Always"),
                "{policy:?} {value:?}"
            );
            assert_eq!(p.spec.interval.as_deref(), Some("24h"));
        }
        // A tag-only update of a versioned external image needs no digest.
        let ups = image(TagOrder::Versions(None), &[UpdateValue::Tag]).updates;
        let u = external(policy, ups);
        let p = image_policy(Image::External(&u), &s);
        let want = (policy == TagPolicy::Digest).then_some("Always");
        assert_eq!(p.spec.digest_reflection_policy, want, "{policy:?}");
        assert_eq!(p.spec.interval.is_some(), want.is_some());
    }
}

#[test]
fn repositories_that_read_alike_get_distinct_names() {
    let urls = [
        "https://github.com/a-b/c.git",
        "https://github.com/a/b-c.git",
        "https://gitlab.com/a/b-c.git",
        "https://gitlab.example.com/a/b-c",
    ];
    let names: BTreeSet<String> = urls.iter().map(|u| git_repository_name(u)).collect();
    assert_eq!(names.len(), urls.len(), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("a-b-c-")), "{names:?}");
    // Only case and `.git` differ: one repository, one name.
    assert_eq!(
        git_repository_name("https://github.com/Org/Deploy.git"),
        git_repository_name("https://github.com/org/deploy")
    );
    let autos: BTreeSet<String> = [("a/b", false), ("a-b", false), ("a/b", true)]
        .iter()
        .map(|(b, mr)| automation_object_name(urls[0], b, *mr))
        .collect();
    assert_eq!(autos.len(), 3, "{autos:?}");
}

#[test]
fn the_same_repository_on_github_and_gitlab_gives_two_of_each_object() {
    let s = Settings::defaults("image-factory");
    let mut m = image(
        TagOrder::Versions(None),
        &[UpdateValue::Tag, UpdateValue::Tag],
    );
    m.updates[1].repo_url = "https://gitlab.com/org/deploy.git".into();
    m.updates[1].provider = Provider::Gitlab;
    let model = Model {
        catalog: crate::model::Catalog::default(),
        managed: vec![m],
        upstream: vec![],
    };
    let out = output(&model, &s).expect("no name collision");
    let names = out.names();
    assert_eq!(
        names.iter().filter(|(k, _)| *k == "GitRepository").count(),
        2
    );
    assert_eq!(
        names
            .iter()
            .filter(|(k, _)| *k == "ImageUpdateAutomation")
            .count(),
        2
    );
}

#[test]
fn a_merge_request_push_removes_its_source_branch_at_the_merge() {
    let s = Settings::defaults("image-factory");
    let mut m = image(TagOrder::Versions(None), &[UpdateValue::Tag]);
    m.updates[0].provider = Provider::Gitlab;
    m.updates[0].repo_url = "https://gitlab.com/org/deploy.git".into();
    m.updates[0].pull_request = true;
    let model = Model {
        catalog: crate::model::Catalog::default(),
        managed: vec![m],
        upstream: vec![],
    };
    let out = output(&model, &s).unwrap();
    let Resource::ImageUpdateAutomation(a) = out.get(3) else {
        panic!()
    };
    let opts = &a.spec.git.push.options;
    assert_eq!(a.spec.git.push.branch, "imgf/update-main");
    assert_eq!(opts["merge_request.create"], "");
    assert_eq!(opts["merge_request.target"], "main");
    assert_eq!(opts["merge_request.remove_source_branch"], "");
}

#[test]
fn pushes_without_credentials_are_warned_about_naming_the_setting() {
    let mut s = Settings::defaults("image-factory");
    let model = Model {
        catalog: crate::model::Catalog::default(),
        managed: vec![image(TagOrder::Versions(None), &[UpdateValue::Tag])],
        upstream: vec![],
    };
    let w = missing_credentials(&model, &s).expect("a warning");
    assert!(w.message.contains("flux.gitSecret"), "{}", w.message);
    assert!(
        w.message.contains("https://github.com/org/deploy.git"),
        "{}",
        w.message
    );
    assert!(format!("{w:?}").contains("gitSecret: <name>"), "{w:?}");
    // An existing GitRepository is the user's: nothing generated, no warning.
    s.flux.git_repositories = vec![("org/deploy".into(), "flux-system".into())];
    assert!(missing_credentials(&model, &s).is_none());
    s.flux.git_repositories.clear();
    s.flux.git_secret = Some("deploy-auth".into());
    assert!(missing_credentials(&model, &s).is_none());
    let out = output(&model, &s).unwrap();
    let Resource::GitRepository(g) = out.get(2) else {
        panic!()
    };
    assert_eq!(g.spec.secret_ref.as_ref().unwrap().name, "deploy-auth");
}

proptest::proptest! {
    /// Generated GitRepository and ImageUpdateAutomation names are valid
    /// object names, and distinct for distinct repositories (as Git hosts
    /// compare them) and (repository, branch, push mode) triples.
    #[test]
    fn generated_names_are_unique_and_valid(
        repos in proptest::collection::vec(
            ("(github\\.com|gitlab\\.com|git\\.example\\.org)", "[a-zA-Z0-9]{1,4}([-_./][a-zA-Z0-9]{1,4}){0,4}", proptest::bool::ANY),
            1..12,
        ),
        branches in proptest::collection::vec("[a-zA-Z0-9]{1,5}([-_./][a-zA-Z0-9]{1,5}){0,3}", 1..5),
    ) {
        let urls: Vec<String> = repos
            .iter()
            .map(|(host, path, git)| format!("https://{host}/{path}{}", if *git { ".git" } else { "" }))
            .collect();
        let mut by_key: BTreeMap<String, String> = BTreeMap::new();
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for url in &urls {
            let n = git_repository_name(url);
            proptest::prop_assert!(crate::names::is_valid_object_name(&n), "{n:?} from {url}");
            let key = normalize_git_url(url);
            if let Some(prev) = by_key.insert(key.clone(), n.clone()) {
                proptest::prop_assert_eq!(&prev, &n, "not a function of the repository");
            }
            if let Some(other) = seen.insert(n.clone(), key.clone()) {
                proptest::prop_assert_eq!(&other, &key, "{} shared by two repositories", n);
            }
        }
        let mut seen: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
        for url in &urls {
            for b in &branches {
                for mr in [false, true] {
                    let n = automation_object_name(url, b, mr);
                    proptest::prop_assert!(crate::names::is_valid_object_name(&n), "{n:?}");
                    let key = (normalize_git_url(url), b.clone(), mr);
                    if let Some(other) = seen.insert(n.clone(), key.clone()) {
                        proptest::prop_assert_eq!(&other, &key, "{} shared", n);
                    }
                }
            }
        }
    }
}

#[test]
fn the_commit_template_renders_over_the_controllers_data() {
    // TemplateData{AutomationObject, Changed} with Changed.Changes() as the
    // controller computes it from two setter changes.
    let s = |v: &str| Val::Str(v.into());
    let change = |old: &str, new: &str, setter: &str| {
        Val::Obj(vec![
            ("OldValue", s(old)),
            ("NewValue", s(new)),
            ("Setter", s(setter)),
        ])
    };
    let data = Val::Obj(vec![
        (
            "AutomationObject",
            Val::Obj(vec![
                ("Namespace", s("flux-system")),
                ("Name", s("org-deploy-main")),
            ]),
        ),
        (
            "Changed",
            Val::Obj(vec![(
                "Changes",
                Val::List(vec![
                    change("1.4.1", "1.4.2", "flux-system:api:tag"),
                    change(
                        "ghcr.io/org/web:2.0.0",
                        "ghcr.io/org/web:2.1.0@sha256:ab",
                        "flux-system:web",
                    ),
                ]),
            )]),
        ),
    ]);
    assert_eq!(
        render(COMMIT_MESSAGE, &data).unwrap(),
        "Update images (flux-system/org-deploy-main)\n\n\
         - 1.4.1 -> 1.4.2 (flux-system:api:tag)\n\
         - ghcr.io/org/web:2.0.0 -> ghcr.io/org/web:2.1.0@sha256:ab (flux-system:web)\n"
    );
}
