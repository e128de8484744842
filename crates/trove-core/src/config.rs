//! Pipelines as data: the pipeline file, step configs and the registry of step types.
//!
//! A pipeline file (TOML, YAML or JSON) has an `[executor]` table and a `[[pipeline]]` list of steps.
//! Each step is a table with a `type` (DataTrove's class name in snake_case) and DataTrove's parameters.
//! A [`Registry`] maps each `type` to a [`StepConfig`] struct, which deserializes the table (unknown
//! fields rejected) and builds a fresh runtime [`Stage`] for each task.

use crate::error::{Error, Result};
use crate::step::Stage;
use crate::task::TaskInfo;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A step's configuration: a serde struct with DataTrove's parameter names and defaults.
pub trait StepConfig: Serialize + DeserializeOwned + fmt::Debug + Send + Sync + 'static {
    /// The `type` tag: DataTrove's class name in snake_case.
    const TYPE: &'static str;

    /// Builds the runtime stage for one task.
    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage>;

    /// Checks values serde cannot (ranges, regexes, paths), pushing one message per problem.
    fn check(&self, _problems: &mut Vec<String>) {}

    /// Nested step tables (e.g. `exclusion_writer`), validated with the registry.
    fn nested(&self) -> Vec<&StepSpec> {
        Vec::new()
    }
}

/// A step table kept as data: `{ type = "...", ... }`. Used for nested steps such as
/// `exclusion_writer`, which are resolved through the registry when the task is built.
#[derive(Debug, Clone, PartialEq)]
pub struct StepSpec(pub Value);

impl StepSpec {
    /// A spec from a typed config.
    pub fn from_config<C: StepConfig>(config: &C) -> StepSpec {
        StepSpec(tagged_value(C::TYPE, config))
    }

    /// The `type` tag, if present.
    pub fn type_name(&self) -> Option<&str> {
        self.0.get("type").and_then(Value::as_str)
    }
}

impl Serialize for StepSpec {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for StepSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<StepSpec, D::Error> {
        let value = Value::deserialize(d)?;
        if value.get("type").and_then(Value::as_str).is_none() {
            return Err(serde::de::Error::custom("a nested step must be a table with a `type`"));
        }
        Ok(StepSpec(value))
    }
}

fn tagged_value<C: Serialize>(type_name: &str, config: &C) -> Value {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(type_name.to_string()));
    if let Ok(Value::Object(fields)) = serde_json::to_value(config) {
        map.extend(fields);
    }
    Value::Object(map)
}

/// What building a stage can use.
pub struct BuildContext<'a> {
    /// The task the stage is built for.
    pub task: &'a TaskInfo,
    /// The registry, to build nested steps.
    pub registry: &'a Registry,
}

impl BuildContext<'_> {
    /// Builds a nested step (an exclusion writer, say).
    pub fn build_nested(&self, spec: &StepSpec) -> Result<Stage> {
        self.registry.parse(spec).map_err(Error::Config)?.build(self)
    }

    /// A filter stage named as DataTrove names filters in stats (`🔻 - FILTER: {name}`), with its
    /// optional exclusion writer built from the nested spec.
    pub fn filter_stage<F: crate::step::Filter + 'static>(
        &self,
        name: &str,
        filter: F,
        exclusion_writer: Option<&StepSpec>,
    ) -> Result<Stage> {
        self.filter_stage_named(&format!("🔻 - FILTER: {name}"), filter, exclusion_writer)
    }

    /// [`BuildContext::filter_stage`] under a full stage name (DataTrove's dedup filters are named
    /// `🫂 - DEDUP: ...`).
    pub fn filter_stage_named<F: crate::step::Filter + 'static>(
        &self,
        full_name: &str,
        filter: F,
        exclusion_writer: Option<&StepSpec>,
    ) -> Result<Stage> {
        let exclusion = match exclusion_writer {
            None => None,
            Some(spec) => match self.build_nested(spec)?.kind {
                crate::step::StageKind::Step(step) => Some(step),
                crate::step::StageKind::Source(_) => {
                    return Err(Error::config("exclusion_writer must be a writer, not a reader"));
                }
            },
        };
        Ok(Stage::step(full_name, crate::step::FilterStep::new(filter, exclusion)))
    }
}

/// A parsed step config behind a trait object.
pub trait DynStepConfig: fmt::Debug + Send + Sync {
    /// The `type` tag.
    fn type_name(&self) -> &'static str;
    /// Builds the runtime stage for one task.
    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage>;
    /// Semantic checks.
    fn check(&self, problems: &mut Vec<String>);
    /// Nested step tables.
    fn nested(&self) -> Vec<&StepSpec>;
    /// The resolved config (defaults filled in), `type` first.
    fn to_value(&self) -> Value;
}

impl<C: StepConfig> DynStepConfig for C {
    fn type_name(&self) -> &'static str {
        C::TYPE
    }
    fn build(&self, cx: &BuildContext<'_>) -> Result<Stage> {
        StepConfig::build(self, cx)
    }
    fn check(&self, problems: &mut Vec<String>) {
        StepConfig::check(self, problems)
    }
    fn nested(&self) -> Vec<&StepSpec> {
        StepConfig::nested(self)
    }
    fn to_value(&self) -> Value {
        tagged_value(C::TYPE, self)
    }
}

type ParseFn = fn(Value) -> std::result::Result<Box<dyn DynStepConfig>, String>;

/// Maps step `type`s to their config structs. The `trove` crate builds one with every plugin's steps.
#[derive(Default, Clone)]
pub struct Registry {
    entries: BTreeMap<&'static str, ParseFn>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

fn parse_as<C: StepConfig>(value: Value) -> std::result::Result<Box<dyn DynStepConfig>, String> {
    let config: C = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok(Box::new(config))
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a step type.
    pub fn register<C: StepConfig>(&mut self) -> &mut Registry {
        self.entries.insert(C::TYPE, parse_as::<C>);
        self
    }

    /// Known step types, sorted.
    pub fn types(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.keys().copied()
    }

    /// Parses one step table. Errors are messages naming the step type and the field.
    pub fn parse(&self, spec: &StepSpec) -> std::result::Result<Box<dyn DynStepConfig>, Vec<String>> {
        let Value::Object(map) = &spec.0 else {
            return Err(vec!["a step must be a table".into()]);
        };
        let Some(type_name) = map.get("type").and_then(Value::as_str) else {
            return Err(vec!["a step needs a `type`".into()]);
        };
        let Some(parse) = self.entries.get(type_name) else {
            let hint = self
                .types()
                .min_by_key(|known| edit_distance(known, type_name))
                .filter(|known| edit_distance(known, type_name) <= 3)
                .map(|known| format!(" (did you mean `{known}`?)"))
                .unwrap_or_default();
            return Err(vec![format!("unknown step type `{type_name}`{hint}")]);
        };
        let mut fields = map.clone();
        fields.shift_remove("type");
        let config = parse(Value::Object(fields)).map_err(|e| vec![format!("{type_name}: {e}")])?;
        let mut problems = Vec::new();
        config.check(&mut problems);
        for nested in config.nested() {
            if let Err(errs) = self.parse(nested) {
                problems.extend(errs.into_iter().map(|e| format!("nested {e}")));
            }
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.into_iter().map(|p| format!("{type_name}: {p}")).collect())
        }
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A closure that builds a stage: for Rust callers' own steps (e.g. `lambda_filter`). Such steps run
/// in-process only: a pipeline holding one cannot be written to a file.
pub type StageFactory = Arc<dyn Fn(&BuildContext<'_>) -> Result<Stage> + Send + Sync>;

/// One step of a [`Pipeline`].
#[derive(Clone)]
pub enum PipelineStep {
    /// A step from a config (a file or the builder).
    Config(Arc<dyn DynStepConfig>),
    /// A Rust closure step, in-process only.
    Custom {
        /// Name shown in messages.
        name: String,
        /// Builds the stage per task.
        factory: StageFactory,
    },
}

impl fmt::Debug for PipelineStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PipelineStep::Config(c) => c.fmt(f),
            PipelineStep::Custom { name, .. } => write!(f, "Custom({name})"),
        }
    }
}

/// A list of steps and the registry that resolves nested ones.
#[derive(Clone, Debug)]
pub struct Pipeline {
    /// The steps, in order.
    pub steps: Vec<PipelineStep>,
    /// Resolves nested step tables at build time.
    pub registry: Arc<Registry>,
}

impl Pipeline {
    /// An empty pipeline; add steps with [`Pipeline::step`].
    pub fn new(registry: Arc<Registry>) -> Pipeline {
        Pipeline { steps: Vec::new(), registry }
    }

    /// Appends a configured step (the Rust builder: produces the same config a file would).
    pub fn step<C: StepConfig>(mut self, config: C) -> Pipeline {
        self.steps.push(PipelineStep::Config(Arc::new(config)));
        self
    }

    /// Appends a closure step; the pipeline can then no longer be written to a file.
    pub fn custom(
        mut self,
        name: impl Into<String>,
        factory: impl Fn(&BuildContext<'_>) -> Result<Stage> + Send + Sync + 'static,
    ) -> Pipeline {
        self.steps.push(PipelineStep::Custom { name: name.into(), factory: Arc::new(factory) });
        self
    }

    /// Builds every stage for one task.
    pub fn build(&self, task: &TaskInfo) -> Result<Vec<Stage>> {
        let cx = BuildContext { task, registry: &self.registry };
        self.steps
            .iter()
            .enumerate()
            .map(|(index, step)| {
                let (result, name) = match step {
                    PipelineStep::Config(c) => (c.build(&cx), c.type_name().to_string()),
                    PipelineStep::Custom { name, factory } => (factory(&cx), name.clone()),
                };
                result.map_err(|e| Error::Step { index, step: name, source: Box::new(e) })
            })
            .collect()
    }

    /// The steps as data (`type`-tagged tables with every default filled in).
    pub fn to_values(&self) -> Result<Vec<Value>> {
        self.steps
            .iter()
            .map(|s| match s {
                PipelineStep::Config(c) => Ok(c.to_value()),
                PipelineStep::Custom { name, .. } => Err(Error::config(format!(
                    "step `{name}` is a Rust closure and cannot be written to a pipeline file"
                ))),
            })
            .collect()
    }
}

/// The contents of a pipeline file, before its steps are resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    /// The executor table (`type = "local"` or `"slurm"`, DataTrove's executor arguments).
    #[serde(default = "default_executor")]
    pub executor: Value,
    /// The steps, in order.
    pub pipeline: Vec<StepSpec>,
}

fn default_executor() -> Value {
    serde_json::json!({"type": "local"})
}

/// The formats a pipeline file can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// TOML (`.toml`).
    Toml,
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
}

impl FileFormat {
    /// The format a file name's extension implies.
    pub fn from_path(path: &Path) -> Result<FileFormat> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Ok(FileFormat::Toml),
            Some("yaml" | "yml") => Ok(FileFormat::Yaml),
            Some("json") => Ok(FileFormat::Json),
            _ => Err(Error::config(format!(
                "{}: a pipeline file must end in .toml, .yaml, .yml or .json",
                path.display()
            ))),
        }
    }
}

impl PipelineFile {
    /// Parses pipeline text; `origin` names it in errors.
    pub fn parse(text: &str, format: FileFormat, origin: &str) -> Result<PipelineFile> {
        let value: Value = match format {
            FileFormat::Toml => toml::from_str(text).map_err(|e| Error::config(format!("{origin}: {e}")))?,
            FileFormat::Yaml => {
                serde_yaml::from_str(text).map_err(|e| Error::config(format!("{origin}: {e}")))?
            }
            FileFormat::Json => {
                serde_json::from_str(text).map_err(|e| Error::config(format!("{origin}: {e}")))?
            }
        };
        serde_json::from_value(value).map_err(|e| Error::config(format!("{origin}: {e}")))
    }

    /// Reads and parses a pipeline file.
    pub fn load(path: &Path) -> Result<PipelineFile> {
        let format = FileFormat::from_path(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        PipelineFile::parse(&text, format, &path.display().to_string())
    }

    /// Resolves every step through `registry`, collecting every problem (each naming its step).
    pub fn resolve(&self, registry: Arc<Registry>) -> Result<Pipeline> {
        let mut steps = Vec::new();
        let mut problems = Vec::new();
        for (i, spec) in self.pipeline.iter().enumerate() {
            match registry.parse(spec) {
                Ok(config) => steps.push(PipelineStep::Config(Arc::from(config))),
                Err(errs) => problems.extend(errs.into_iter().map(|e| format!("pipeline[{i}]: {e}"))),
            }
        }
        if problems.is_empty() {
            Ok(Pipeline { steps, registry })
        } else {
            Err(Error::Config(problems))
        }
    }

    /// Writes the file back as text in `format`.
    pub fn to_text(&self, format: FileFormat) -> Result<String> {
        let value = serde_json::to_value(self).map_err(|e| Error::Format(e.to_string()))?;
        match format {
            FileFormat::Toml => toml::to_string_pretty(&value).map_err(|e| Error::Format(e.to_string())),
            FileFormat::Yaml => serde_yaml::to_string(&value).map_err(|e| Error::Format(e.to_string())),
            FileFormat::Json => {
                serde_json::to_string_pretty(&value).map_err(|e| Error::Format(e.to_string()))
            }
        }
    }
}

/// Parses a typed executor table, naming it in errors.
pub fn parse_table<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T> {
    let mut fields = value.clone();
    if let Value::Object(map) = &mut fields {
        map.shift_remove("type");
    }
    serde_json::from_value(fields).map_err(|e| Error::config(format!("{what}: {e}")))
}
