#!/bin/bash
# Device side of the lent-GPU LoRA run: assemble the base GGUF, fit the prepared run, send back the adapter.
set -eo pipefail
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1
MINUTES=${1:-5}
python3 -m pip install --upgrade -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .mdl/whl/*.whl
export PYTHONPATH=/tmp/site:$PWD
mkdir -p /tmp/base
GGUF=/tmp/base/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
ls .mdl/
mv .mdl/c18 /tmp/ck/ 2>/dev/null || true; cat $(ls /tmp/ck/c[0-9][0-9] | sort) > $GGUF
echo "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046  $GGUF" | sha256sum -c
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c "import torch, transformers, peft, trl, datasets; print(torch.__version__, transformers.__version__, peft.__version__, trl.__version__, datasets.__version__)"
T0=$(date +%s)
python3 -m nanoscale.training.fit .mdl/run --base $GGUF --quiet --max-minutes $MINUTES 2>&1 | tee $OUT/fit.log
echo "fit wall: $(( $(date +%s) - T0 )) s" | tee -a $OUT/fit.log
cd .mdl/run
python3 -c "
import torch; from safetensors.torch import load_file, save_file
f='adapter/adapter_model.safetensors'; t=load_file(f); save_file({k: v.to(torch.bfloat16) for k, v in t.items()}, f)"
rm -f adapter/tokenizer.json
tar cf /tmp/result.tar adapter metrics.json history.json
sha256sum /tmp/result.tar | tee $OUT/result.sha256
split -b 15M /tmp/result.tar $OUT/result.tar.
ls -la $OUT
