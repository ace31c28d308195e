//! `template.yaml` and the code must agree: the functions and their routes,
//! the variables each function reads, the tables' keys and TTL, and the
//! DynamoDB actions each function's role allows. These tests fail on drift.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_yaml::Value;
use user_auth_core::config::{self, vars, Env};
use user_auth_core::edge::Origin;
use user_auth_core::sdk_settings::SdkSettings;
use user_auth_core::store::dynamodb::schema;
use user_auth_core::store::TableNames;
use user_auth_core::telemetry::LogSettings;
use user_auth_core::test_support::TestKeys;
use user_auth_core::BoxError;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

struct Template(Value);

/// A function of the template: its logical id and properties, Globals merged in.
struct Function {
    logical_id: String,
    properties: Value,
}

impl Template {
    fn load() -> Self {
        let text = std::fs::read_to_string(workspace().join("template.yaml")).expect("template.yaml");
        Template(serde_yaml::from_str(&text).expect("template.yaml is YAML"))
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0["Resources"].as_mapping().unwrap().iter().map(|(k, v)| (k.as_str().unwrap(), v))
    }

    fn resource(&self, logical_id: &str) -> &Value {
        &self.0["Resources"][logical_id]
    }

    /// Functions by the binary they are built from.
    fn functions(&self) -> BTreeMap<String, Function> {
        self.resources()
            .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
            .map(|(id, r)| {
                let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned();
                assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
                (binary, Function { logical_id: id.to_owned(), properties: r["Properties"].clone() })
            })
            .collect()
    }

    fn environment(&self, function: &Function) -> BTreeMap<String, Value> {
        let mut vars = BTreeMap::new();
        for source in [&self.0["Globals"]["Function"], &function.properties] {
            if let Some(map) = source["Environment"]["Variables"].as_mapping() {
                for (k, v) in map {
                    let name = k.as_str().unwrap().to_owned();
                    // A function unsets a global variable with `!Ref AWS::NoValue`.
                    let unset = matches!(v, Value::Tagged(t) if t.tag == "!Ref" && t.value == "AWS::NoValue");
                    if unset {
                        vars.remove(&name);
                    } else {
                        vars.insert(name, v.clone());
                    }
                }
            }
        }
        vars
    }

    /// What a variable's value becomes at deploy time, as far as it can be
    /// known offline: a parameter's default, a table's logical id, or a marker.
    fn deployed_value(&self, value: &Value) -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Tagged(tagged) if tagged.tag == "!Ref" => {
                let name = tagged.value.as_str().unwrap();
                let parameter = &self.0["Parameters"][name];
                if parameter.is_mapping() {
                    match &parameter["Default"] {
                        Value::Null => format!("<parameter {name}>"),
                        default => self.deployed_value(default),
                    }
                } else {
                    assert!(self.resource(name).is_mapping(), "!Ref {name} names nothing");
                    name.to_owned()
                }
            }
            other => format!("<resolved at deploy time: {other:?}>"),
        }
    }
}

fn logical_id_of(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!GetAtt" => {
            tagged.value.as_str().unwrap().trim_end_matches(".Arn").to_owned()
        }
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().unwrap().to_owned(),
        // An ARN made from parameters (the SES identity): its pattern.
        Value::Tagged(tagged) if tagged.tag == "!Sub" => tagged.value.as_str().unwrap().to_owned(),
        other => panic!("a resource must be a reference, not {other:?}"),
    }
}

#[test]
fn every_function_is_a_workspace_binary_and_the_reverse() {
    let template: BTreeSet<String> = Template::load().functions().into_keys().collect();
    let crates: BTreeSet<String> = std::fs::read_dir(workspace().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(template, crates);
    for binary in &crates {
        let manifest: toml::Table =
            std::fs::read_to_string(workspace().join("functions").join(binary).join("Cargo.toml"))
                .unwrap()
                .parse()
                .unwrap();
        assert_eq!(manifest["package"]["name"].as_str(), Some(binary.as_str()));
    }
}

#[test]
fn routes_match_the_local_router() {
    let template = Template::load();
    let mut deployed = BTreeSet::new();
    for (binary, function) in template.functions() {
        // The authorizer is called by other services' APIs, not routed.
        let Some(events) = function.properties["Events"].as_mapping() else {
            assert_eq!(binary, "authorize", "{binary} has no route");
            continue;
        };
        for event in events.values() {
            assert_eq!(event["Type"], "HttpApi");
            assert_eq!(event["Properties"]["PayloadFormatVersion"], "2.0");
            let method = event["Properties"]["Method"].as_str().unwrap().to_owned();
            let path = event["Properties"]["Path"].as_str().unwrap().to_owned();
            deployed.insert((method, path, binary.clone()));
        }
    }
    let manifest: toml::Table = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap().parse().unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut local = BTreeSet::new();
    for (path, routes) in router {
        for route in routes.as_array().unwrap() {
            let method = route["method"].as_str().unwrap().to_owned();
            local.insert((method, path.clone(), route["function"].as_str().unwrap().to_owned()));
        }
    }
    // cargo lambda watch's greedy parameter matches no empty rest, so the
    // pages' `/app/` has a local route of its own.
    let pages_root = ("GET".to_owned(), "/app/".to_owned(), "pages".to_owned());
    assert!(local.remove(&pages_root), "{local:?}");
    assert_eq!(deployed, local);
    // Every function has one route, but get-user, which also serves
    // `/users/me`, jwks, which also serves the discovery document, pages,
    // which serves `/app` and the files under it, the two passkey
    // ceremonies, each its options and its answer, and the authorizer,
    // which has none.
    assert_eq!(deployed.len(), template.functions().len() + 4);
    let me = ("GET".to_owned(), "/users/me".to_owned(), "get-user".to_owned());
    assert!(deployed.contains(&me), "{deployed:?}");
}

/// What `build` does for a function that signs tokens, given a signing key
/// instead of fetching it: only where the key is read from is read.
fn with_a_signing_key<T>(
    env: &Env,
    build: impl FnOnce(&Env, &SdkSettings, &SecretString) -> Result<T, BoxError>,
) -> Result<(), BoxError> {
    config::signing_key_source(env)?;
    build(env, &SdkSettings::from_env(env)?, &SecretString::from(TestKeys::generate().pair.private_key_pem)).map(drop)
}

/// Reads what each function's `main` reads: the logging controls
/// (`telemetry::init`), then everything its `build` reads. Login's signing
/// key is not fetched: only where it is read from.
async fn read_what_main_reads(binary: &str, env: &Env) -> Result<(), BoxError> {
    LogSettings::from_env(env);
    // The authorizer is called by API Gateway itself, never through CloudFront.
    if binary != "authorize" {
        Origin::from_env(env)?;
    }
    match binary {
        "change-password" => change_password::build(env).await.map(drop),
        "create-user" => create_user::build(env).await.map(drop),
        "delete-user" => delete_user::build(env).await.map(drop),
        "get-user" => get_user::build(env).await.map(drop),
        "jwks" => jwks::build(env).await.map(drop),
        "pages" => pages::build(env).await.map(drop),
        "register-passkey" => register_passkey::build(env).await.map(drop),
        "list-passkeys" => list_passkeys::build(env).await.map(drop),
        "remove-passkey" => remove_passkey::build(env).await.map(drop),
        "login-with-passkey" => with_a_signing_key(env, login_with_passkey::with_signing_key),
        "authorize" => authorize::build(env).await.map(drop),
        "logout" => logout::build(env).await.map(drop),
        "list-sessions" => list_sessions::build(env).await.map(drop),
        "list-activity" => list_activity::build(env).await.map(drop),
        "revoke-session" => revoke_session::build(env).await.map(drop),
        "verify-email" => verify_email::build(env).await.map(drop),
        "change-email" => change_email::build(env).await.map(drop),
        "start-recovery" => start_recovery::build(env).await.map(drop),
        "confirm-recovery" => confirm_recovery::build(env).await.map(drop),
        "enrol-totp" => enrol_totp::build(env).await.map(drop),
        "confirm-totp" => confirm_totp::build(env).await.map(drop),
        "remove-totp" => remove_totp::build(env).await.map(drop),
        "new-recovery-codes" => new_recovery_codes::build(env).await.map(drop),
        "login" => with_a_signing_key(env, login::with_signing_key),
        "refresh" => with_a_signing_key(env, refresh::with_signing_key),
        "verify-mfa" => with_a_signing_key(env, verify_mfa::with_signing_key),
        other => panic!("no such function: {other}"),
    }
}

/// What Lambda sets in every function, as a deployment would have it.
const LAMBDA_SETS: [(&str, &str); 4] = [
    (vars::AWS_REGION, "eu-west-1"),
    (vars::AWS_ACCESS_KEY_ID, "ASIAEXAMPLE"),
    (vars::AWS_SECRET_ACCESS_KEY, "secret"),
    (vars::AWS_LAMBDA_LOG_FORMAT, "JSON"),
];

#[tokio::test]
async fn each_function_gets_exactly_the_variables_it_reads() {
    let template = Template::load();
    let not_the_templates: BTreeSet<String> =
        vars::SET_BY_LAMBDA.iter().chain(&vars::LOCAL_ONLY).map(|name| name.to_string()).collect();
    // The public key comes from SSM at deploy time: a real one stands in for it.
    let verifying_key = TestKeys::generate().pair.public_key_pem;
    for (binary, function) in template.functions() {
        let variables = template.environment(&function);
        let deployed = variables.iter().map(|(k, v)| {
            // The origin secrets are NoEcho parameters, given at deploy time.
            let value = match k.as_str() {
                vars::TOKEN_VERIFYING_KEY => verifying_key.clone(),
                vars::EDGE_ORIGIN_SECRET => "an-origin-secret-of-32-characters-or-more".to_owned(),
                // A parameter without a default: the deployment names its sender.
                vars::MAIL_FROM => "no-reply@auth.example.com".to_owned(),
                _ => template.deployed_value(v),
            };
            (k.clone(), value)
        });
        let lambda = LAMBDA_SETS.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let env = Env::from_map(deployed.chain(lambda).collect());
        read_what_main_reads(&binary, &env)
            .await
            .unwrap_or_else(|err| panic!("{binary} cannot start with the template's environment: {err}"));
        let read: BTreeSet<String> = env.names_read().into_iter().map(String::from).collect();
        let set: BTreeSet<String> = variables.keys().cloned().collect();
        assert!(set.is_disjoint(&not_the_templates), "{binary}: the template sets what Lambda or local runs set");
        assert!(read.contains(vars::AWS_LAMBDA_LOG_FORMAT), "{binary}: {read:?}");
        // Every function that reaches DynamoDB reads its region; jwks and pages reach nothing.
        let reaches_nothing = matches!(binary.as_str(), "jwks" | "pages");
        assert_eq!(read.contains(vars::AWS_REGION), !reaches_nothing, "{binary}: {read:?}");
        let read_from_template: BTreeSet<String> = read.difference(&not_the_templates).cloned().collect();
        assert_eq!(set, read_from_template, "{binary}: the template sets (left) what the code reads (right)");
    }
}

#[test]
fn tables_have_the_keys_and_ttl_the_store_uses() {
    let template = Template::load();
    let functions = template.functions();
    let vars = template.environment(&functions["get-user"]);
    let names = config::table_names(&Env::from_map(
        vars.iter().map(|(k, v)| (k.clone(), template.deployed_value(v))).collect(),
    ));
    assert_ne!(names, TableNames::default(), "the template must name its own tables");
    for table in schema::tables(&names) {
        let logical_id = table.name;
        let resource = template.resource(logical_id);
        assert_eq!(resource["Type"], "AWS::DynamoDB::Table", "{logical_id}");
        let p = &resource["Properties"];
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{logical_id}");
        let pairs = |list: &Value, field: &str| -> Vec<(String, String)> {
            let list = list.as_sequence().unwrap().iter();
            list.map(|entry| (entry["AttributeName"].as_str().unwrap().into(), entry[field].as_str().unwrap().into()))
                .collect()
        };
        let mut keys = vec![(table.partition_key.to_owned(), "HASH".to_owned())];
        keys.extend(table.sort_key.map(|key| (key.to_owned(), "RANGE".to_owned())));
        assert_eq!(pairs(&p["KeySchema"], "KeyType"), keys, "{logical_id}");
        let strings: Vec<_> = keys.iter().map(|(name, _)| (name.clone(), "S".to_owned())).collect();
        assert_eq!(pairs(&p["AttributeDefinitions"], "AttributeType"), strings, "{logical_id}");
        assert_eq!(p["TimeToLiveSpecification"]["AttributeName"].as_str(), table.ttl, "{logical_id}");
        if table.ttl.is_some() {
            assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true);
        }
        assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
        assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
        assert!(matches!(p["DeletionProtectionEnabled"], Value::Tagged(_)), "deletion protection is a parameter");
    }
}

/// What each function's code calls, by table (see `DynamoStore`):
/// `create_user` is a transaction of two conditional puts, after the sign-up
/// is counted per address (`UpdateItem`); `get_user`,
/// `credentials` and `session` are `GetItem`s; `sessions` is a `Query`;
/// `create_session` a `PutItem`, `rotate` an `UpdateItem`, `end_session` a
/// `DeleteItem`; login's lockout reads (`attempts`), counts (`UpdateItem`, or
/// `PutItem` for a new window), locks (`UpdateItem`) and resets (`DeleteItem`).
/// Every function that takes an access token reads its session (list-sessions
/// finds it in its `Query`) and its user (`GetItem`). A password change is a
/// transaction of `UpdateItem`s of the claim, the user and the kept session
/// (the credential generation), then a `Query` of the other sessions and
/// their `DeleteItem`s; a deletion, of `DeleteItem`s of the user, the claim and
/// the sessions. Both check the password under login's lockout. Login stores
/// its session in a transaction with a `ConditionCheck` of the username's
/// claim, and ends the sessions beyond the cap, found with a `Query`; for a
/// user with a second factor it stores the pending sign-in (`PutItem` of a
/// code) instead, which verify-mfa reads, counts and deletes before it stores
/// the session as login does. Every check of a second factor's code counts
/// under login's lockout; the functions that change the factor mail its owner.
fn permissions_the_code_needs() -> BTreeMap<&'static str, BTreeSet<(String, String)>> {
    let on =
        |table: &'static str, actions: &[&'static str]| actions.iter().map(move |a| (*a, table)).collect::<Vec<_>>();
    let grant = |groups: &[Vec<(&str, &str)>]| {
        groups.concat().into_iter().map(|(a, t)| (a.to_string(), t.to_string())).collect::<BTreeSet<_>>()
    };
    let signing_key = vec![("secretsmanager:GetSecretValue", "TokenSigningKeySecretArn")];
    let send_mail =
        vec![("ses:SendEmail", "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${MailIdentity}")];
    let token_holder = [on("UsersTable", &["dynamodb:GetItem"]), on("SessionsTable", &["dynamodb:GetItem"])].concat();
    // Every function that changes what an account can do records it.
    let records = on("EventsTable", &["dynamodb:PutItem"]);
    let lockout = on(
        "LoginAttemptsTable",
        &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
    );
    BTreeMap::from([
        (
            "create-user",
            grant(&[
                records.clone(),
                on("UsersTable", &["dynamodb:PutItem"]),
                on("UsernamesTable", &["dynamodb:PutItem"]),
                on("SignUpsTable", &["dynamodb:UpdateItem"]),
                on("EmailAddressesTable", &["dynamodb:GetItem"]),
                on("CodesTable", &["dynamodb:PutItem"]),
                send_mail.clone(),
            ]),
        ),
        ("get-user", grant(std::slice::from_ref(&token_holder))),
        ("authorize", grant(std::slice::from_ref(&token_holder))),
        // Serves the public keys of its environment, and calls nothing.
        ("jwks", BTreeSet::new()),
        ("pages", BTreeSet::new()),
        (
            "login",
            grant(&[
                records.clone(),
                on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:ConditionCheckItem"]),
                lockout.clone(),
                on("SessionsTable", &["dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem"]),
                on("CodesTable", &["dynamodb:PutItem"]),
                signing_key.clone(),
            ]),
        ),
        (
            "refresh",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("SessionsTable", &["dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
                signing_key.clone(),
            ]),
        ),
        (
            "logout",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("SessionsTable", &["dynamodb:Query", "dynamodb:DeleteItem"]),
            ]),
        ),
        ("list-sessions", grant(&[on("UsersTable", &["dynamodb:GetItem"]), on("SessionsTable", &["dynamodb:Query"])])),
        ("list-activity", grant(&[token_holder.clone(), on("EventsTable", &["dynamodb:Query"])])),
        (
            "revoke-session",
            grant(&[records.clone(), token_holder.clone(), on("SessionsTable", &["dynamodb:DeleteItem"])]),
        ),
        (
            "change-password",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                lockout.clone(),
                on("SessionsTable", &["dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"]),
                send_mail.clone(),
            ]),
        ),
        (
            "delete-user",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
                on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:DeleteItem"]),
                lockout.clone(),
                on("SessionsTable", &["dynamodb:Query", "dynamodb:DeleteItem"]),
                on("CodesTable", &["dynamodb:DeleteItem"]),
                on("EmailAddressesTable", &["dynamodb:DeleteItem"]),
                on("PasskeysTable", &["dynamodb:Query", "dynamodb:DeleteItem"]),
            ]),
        ),
        (
            "register-passkey",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("PasskeysTable", &["dynamodb:Query", "dynamodb:PutItem"]),
                on("CodesTable", &["dynamodb:PutItem", "dynamodb:DeleteItem"]),
            ]),
        ),
        ("list-passkeys", grant(&[token_holder.clone(), on("PasskeysTable", &["dynamodb:Query"])])),
        (
            "remove-passkey",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:GetItem"]),
                lockout.clone(),
                on("PasskeysTable", &["dynamodb:DeleteItem"]),
            ]),
        ),
        (
            "login-with-passkey",
            grant(&[
                records.clone(),
                on("CodesTable", &["dynamodb:PutItem", "dynamodb:DeleteItem"]),
                on("PasskeysTable", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                on("UsersTable", &["dynamodb:GetItem"]),
                on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:ConditionCheckItem"]),
                on("SessionsTable", &["dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem"]),
                signing_key.clone(),
            ]),
        ),
        (
            "change-email",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:GetItem"]),
                lockout.clone(),
                on("CodesTable", &["dynamodb:PutItem"]),
                on("EmailAddressesTable", &["dynamodb:GetItem", "dynamodb:DeleteItem"]),
                send_mail.clone(),
            ]),
        ),
        (
            "start-recovery",
            grant(&[
                on("UsersTable", &["dynamodb:GetItem"]),
                on("UsernamesTable", &["dynamodb:GetItem"]),
                on("EmailAddressesTable", &["dynamodb:GetItem"]),
                on("SignUpsTable", &["dynamodb:UpdateItem"]),
                on("CodesTable", &["dynamodb:UpdateItem", "dynamodb:PutItem"]),
                send_mail.clone(),
            ]),
        ),
        (
            "confirm-recovery",
            grant(&[
                records.clone(),
                on("UsersTable", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                on("EmailAddressesTable", &["dynamodb:GetItem"]),
                on("CodesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
                on("SessionsTable", &["dynamodb:Query", "dynamodb:DeleteItem"]),
                on("LoginAttemptsTable", &["dynamodb:PutItem", "dynamodb:DeleteItem"]),
                send_mail.clone(),
            ]),
        ),
        (
            "verify-email",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("CodesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
                on("EmailAddressesTable", &["dynamodb:GetItem", "dynamodb:PutItem"]),
            ]),
        ),
        (
            "enrol-totp",
            grant(&[
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:GetItem"]),
                lockout.clone(),
            ]),
        ),
        (
            "confirm-totp",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:UpdateItem"]),
                lockout.clone(),
                send_mail.clone(),
            ]),
        ),
        (
            "remove-totp",
            grant(&[
                records.clone(),
                token_holder.clone(),
                on("UsersTable", &["dynamodb:UpdateItem"]),
                on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                lockout.clone(),
                send_mail.clone(),
            ]),
        ),
        (
            "new-recovery-codes",
            grant(&[
                records.clone(),
                token_holder,
                on("UsersTable", &["dynamodb:UpdateItem"]),
                lockout.clone(),
                send_mail,
            ]),
        ),
        (
            "verify-mfa",
            grant(&[
                records.clone(),
                on("UsersTable", &["dynamodb:GetItem", "dynamodb:UpdateItem"]),
                on("CodesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
                on("SessionsTable", &["dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem"]),
                lockout,
                signing_key,
            ]),
        ),
    ])
}

/// CloudWatch refuses a metric math alarm that reads more than 10 metrics,
/// and a function no alarm watches can be throttled unseen: every function's
/// throttles are read by exactly one alarm, and no alarm reads more than 10.
#[test]
fn every_function_s_throttles_are_watched_within_cloudwatch_s_limit() {
    let template = Template::load();
    let mut watched = BTreeMap::<String, usize>::new();
    for (id, resource) in template.resources().filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm") {
        let Some(metrics) = resource["Properties"]["Metrics"].as_sequence() else { continue };
        let read: Vec<&Value> = metrics.iter().filter(|m| !m["MetricStat"].is_null()).collect();
        assert!(read.len() <= 10, "{id} reads {} metrics", read.len());
        for metric in read {
            let metric = &metric["MetricStat"]["Metric"];
            if metric["MetricName"] == "Throttles" {
                let function = logical_id_of(&metric["Dimensions"][0]["Value"]);
                *watched.entry(function).or_default() += 1;
            }
        }
    }
    let functions: BTreeMap<String, usize> =
        template.functions().into_values().map(|function| (function.logical_id, 1)).collect();
    assert_eq!(watched, functions);
}

/// Lambda refuses a reservation that leaves fewer than 100 of an account's
/// executions unreserved: at their defaults, the functions' caps together
/// leave at least that much of the default quota of 1,000.
#[test]
fn the_default_caps_leave_lambda_its_unreserved_hundred() {
    let template = Template::load();
    let mut reserved = 0;
    for function in template.functions().values() {
        let cap = &function.properties["ReservedConcurrentExecutions"];
        // `!If [Caps..., !Ref Parameter, !Ref AWS::NoValue]`: the parameter's default.
        let Value::Tagged(condition) = cap else { panic!("{}: no cap", function.logical_id) };
        let parameter = &condition.value[1];
        reserved += template.deployed_value(parameter).parse::<u64>().expect("a number");
    }
    assert!(reserved <= 900, "the default caps reserve {reserved} of 1,000 executions");
}

/// A template parameter's bounds, as its `MinValue` and `MaxValue` say.
fn bounds_of(template: &Template, parameter: &str) -> (u64, u64) {
    let declared = &template.0["Parameters"][parameter];
    let bound = |name: &str| declared[name].as_u64().unwrap_or_else(|| panic!("{parameter} has no {name}"));
    (bound("MinValue"), bound("MaxValue"))
}

/// A deployment cannot choose a value its functions refuse at start.
#[test]
fn parameters_allow_what_the_functions_accept() {
    let template = Template::load();
    let grace = user_auth_core::config::REFRESH_REUSE_GRACE_RANGE;
    assert_eq!(bounds_of(&template, "RefreshReuseGraceSeconds"), (*grace.start(), *grace.end()));
    let hourly = user_auth_core::config::PER_ADDRESS_PER_HOUR_RANGE;
    for parameter in ["SignUpsPerAddressPerHour", "RecoveryPerAddressPerHour"] {
        assert_eq!(bounds_of(&template, parameter), (*hourly.start(), *hourly.end()), "{parameter}");
    }
    let cap = user_auth_core::config::MAX_SESSIONS_PER_USER_RANGE;
    assert_eq!(bounds_of(&template, "MaxSessionsPerUser"), (*cap.start() as u64, *cap.end() as u64));
}

#[test]
fn each_role_allows_exactly_what_its_function_calls() {
    let template = Template::load();
    let needs = permissions_the_code_needs();
    for (binary, function) in template.functions() {
        let policies = &function.properties["Policies"];
        assert!(policies.is_null() || policies.is_sequence(), "{binary}: inline policies only");
        let granted =
            policies.as_sequence().into_iter().flatten().flat_map(|policy| granted_by(&binary, policy)).collect();
        assert_eq!(needs[binary.as_str()], granted, "{} ({binary})", function.logical_id);
    }
    // Only the functions that issue tokens may read the signing key.
    let readers: Vec<_> =
        needs.iter().filter(|(_, n)| n.iter().any(|(a, _)| a.starts_with("secretsmanager"))).map(|(f, _)| *f).collect();
    assert_eq!(readers, ["login", "login-with-passkey", "refresh", "verify-mfa"]);
}

/// The (action, resource) pairs a policy document allows, none a wildcard or a Scan.
fn granted_by(whose: &str, policy: &Value) -> BTreeSet<(String, String)> {
    let mut granted = BTreeSet::new();
    for statement in policy["Statement"].as_sequence().unwrap() {
        assert_eq!(statement["Effect"], "Allow");
        for action in statement["Action"].as_sequence().unwrap() {
            let action = action.as_str().unwrap();
            assert!(!action.contains('*') && action != "dynamodb:Scan", "{whose}: {action}");
            for resource in statement["Resource"].as_sequence().unwrap() {
                granted.insert((action.to_owned(), logical_id_of(resource)));
            }
        }
    }
    granted
}

/// The operators' policy allows what `user-auth-admin`'s commands call:
/// finding by name or address, reading sessions, the disabling and
/// enabling transactions, ending sessions and deleting an account as its
/// owner's deletion does.
#[test]
fn the_operators_policy_allows_exactly_what_the_admin_tool_calls() {
    let template = Template::load();
    let policy = &template.resource("OperatorPolicy")["Properties"]["PolicyDocument"];
    let on = |table: &str, actions: &[&str]| -> Vec<(String, String)> {
        actions.iter().map(|a| (a.to_string(), table.to_owned())).collect()
    };
    let needs: BTreeSet<(String, String)> =
        on("UsersTable", &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"])
            .into_iter()
            .chain(on("UsernamesTable", &["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]))
            .chain(on("SessionsTable", &["dynamodb:Query", "dynamodb:DeleteItem"]))
            .chain(on("EmailAddressesTable", &["dynamodb:GetItem", "dynamodb:DeleteItem"]))
            .chain(on("CodesTable", &["dynamodb:DeleteItem"]))
            .chain(on("EventsTable", &["dynamodb:Query", "dynamodb:PutItem"]))
            .chain(on("PasskeysTable", &["dynamodb:Query", "dynamodb:DeleteItem"]))
            .collect();
    assert_eq!(needs, granted_by("OperatorPolicy", policy));
    assert_eq!(logical_id_of(&template.0["Outputs"]["OperatorPolicyArn"]["Value"]), "OperatorPolicy");
}

/// cargo-lambda, and so `sam build`, compiles with `panic = "abort"` unless
/// the release profile names a strategy: the deployed functions would then
/// die on a panic instead of answering it with a JSON 500.
#[test]
fn deployed_builds_unwind_so_a_panic_is_a_json_500() {
    let manifest: toml::Table = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap().parse().unwrap();
    assert_eq!(manifest["profile"]["release"]["panic"].as_str(), Some("unwind"));
}

/// Behind CloudFront, the functions read two headers the template makes:
/// the origin's secret, and the viewer's address its function sets.
#[test]
fn cloudfront_sends_the_headers_the_functions_read() {
    use user_auth_core::edge::origin::{ORIGIN_VERIFY_HEADER, VIEWER_IP_HEADER};
    let template = Template::load();
    let distribution = &template.resource("EdgeDistribution")["Properties"]["DistributionConfig"];
    let sent = &distribution["Origins"][0]["OriginCustomHeaders"][0]["HeaderName"];
    assert!(sent.as_str().is_some_and(|name| name.eq_ignore_ascii_case(ORIGIN_VERIFY_HEADER)), "{sent:?}");
    let code = template.resource("EdgeViewerAddressFunction")["Properties"]["FunctionCode"].as_str().unwrap();
    assert!(code.contains(&format!("headers['{VIEWER_IP_HEADER}'] = {{ value: event.viewer.ip }}")), "{code}");
    let association = &distribution["DefaultCacheBehavior"]["FunctionAssociations"][0];
    assert_eq!(association["EventType"], "viewer-request");
}
