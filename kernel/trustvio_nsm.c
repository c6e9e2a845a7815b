// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * trustvio_nsm - virtio Nitro Secure Module driver with the vendor-neutral
 * attestation ABIs.
 *
 * One virtio driver for device ID 33 that offers:
 *
 *  - /dev/nsm with NSM_IOCTL_RAW, the same structure, limits and errors as
 *    the in-tree nsm driver, and the "nsm-hwrng" random source;
 *  - a configfs-tsm report provider named "nsm": inblob becomes the nonce
 *    (and, by the report_inblob parameter, user_data) of an Attestation
 *    request, outblob is the COSE_Sign1 document;
 *  - on kernels with tsm-mr, the measurement registers pcr0:sha384 ..
 *    pcr31:sha384 under the misc device, where a 48-byte write extends;
 *  - a locked_pcrs attribute on the misc device.
 *
 * Device memory discipline: a request is built or copied into a kernel
 * buffer before it is queued; the device's response buffer is copied once
 * into a private buffer after the device returns it, and only that copy is
 * parsed or handed to user space. Every length the device reports is
 * checked against the buffer it was given.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/completion.h>
#include <linux/hw_random.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/mm.h>
#include <uapi/linux/nsm.h>

#include "trustvio_nsm_compat.h"

/* How long one request may take, as the in-tree driver waits. */
#define TVNSM_TIMEOUT_MS 120000

/* The PCR bank of an NSM: 32 registers of SHA-384 size. */
#define TVNSM_MAX_PCRS 32
#define TVNSM_PCR_SIZE 48

/* CBOR major types, shifted into the initial byte (RFC 8949 section 3). */
#define CBOR_UINT 0x00
#define CBOR_BSTR 0x40
#define CBOR_TSTR 0x60
#define CBOR_ARRAY 0x80
#define CBOR_MAP 0xa0
#define CBOR_FALSE 0xf4
#define CBOR_TRUE 0xf5
#define CBOR_NULL 0xf6
#define CBOR_MAX_DEPTH 8

/**
 * enum tvnsm_inblob_use - which Attestation fields a configfs-tsm inblob fills
 * @TVNSM_INBLOB_NONCE: the nonce only (the default)
 * @TVNSM_INBLOB_USER_DATA: user_data only
 * @TVNSM_INBLOB_BOTH: nonce and user_data
 */
enum tvnsm_inblob_use {
	TVNSM_INBLOB_NONCE,
	TVNSM_INBLOB_USER_DATA,
	TVNSM_INBLOB_BOTH,
};

static const char *const tvnsm_inblob_names[] = {
	[TVNSM_INBLOB_NONCE] = "nonce",
	[TVNSM_INBLOB_USER_DATA] = "user_data",
	[TVNSM_INBLOB_BOTH] = "both",
};

static int tvnsm_inblob_use = TVNSM_INBLOB_NONCE;

static int tvnsm_inblob_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(tvnsm_inblob_names, val);

	if (i < 0)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, i);
	return 0;
}

static int tvnsm_inblob_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  tvnsm_inblob_names[READ_ONCE(*(int *)kp->arg)]);
}

static const struct kernel_param_ops tvnsm_inblob_ops = {
	.set = tvnsm_inblob_set,
	.get = tvnsm_inblob_get,
};

module_param_cb(report_inblob, &tvnsm_inblob_ops, &tvnsm_inblob_use, 0644);
MODULE_PARM_DESC(report_inblob,
		 "inblob fills: nonce (default), user_data or both");

/**
 * struct tvnsm - one NSM device
 * @vdev: the virtio device
 * @vq: its only virtqueue
 * @ref: counts the device and every open /dev/nsm file
 * @lock: one request in flight; protects @req, @req_len, @resp, @resp_len,
 *	@broken and the PCR state
 * @done: completed by the virtqueue callback (and by removal)
 * @dead: set once by removal; requests then fail with -ENODEV
 * @broken: the device broke the protocol (a timeout, a wrong buffer, an
 *	impossible length); requests then fail with -EIO
 * @misc: the /dev/nsm misc device
 * @hwrng: the "nsm-hwrng" random source
 * @groups: attribute groups of @misc (driver attributes, measurements)
 * @n_pcrs: number of PCRs the device describes (at most 32)
 * @pcr_locked: PCRs the device reports locked
 * @pcr_idx: which of the two buffers in @pcr_val is current, per PCR
 * @pcr_val: two buffers per PCR; the current one is published to readers
 * @req: device-readable request buffer (kmalloc, DMA-able)
 * @req_len: bytes of @req in use
 * @resp_dev: device-writable response buffer (kmalloc, DMA-able)
 * @resp: private copy of the last response, the only one that is parsed
 * @resp_len: bytes of @resp in use
 * @report_registered: this device is the configfs-tsm report provider
 * @mr_group: the measurements group from tsm-mr, or NULL
 */
struct tvnsm {
	struct virtio_device *vdev;
	struct virtqueue *vq;
	struct kref ref;
	struct mutex lock; /* one request in flight */
	struct completion done;
	bool dead;
	bool broken;
	struct miscdevice misc;
	struct hwrng hwrng;
	const struct attribute_group *groups[3];
	unsigned int n_pcrs;
	DECLARE_BITMAP(pcr_locked, TVNSM_MAX_PCRS);
	u8 pcr_idx[TVNSM_MAX_PCRS];
	u8 pcr_val[TVNSM_MAX_PCRS][2][TVNSM_PCR_SIZE];
	u8 *req;
	size_t req_len;
	u8 *resp_dev;
	u8 *resp;
	size_t resp_len;
	bool report_registered;
#if TVNSM_HAVE_MR
	struct tsm_measurement_register mrs[TVNSM_MAX_PCRS];
	char mr_names[TVNSM_MAX_PCRS][8];
	struct tsm_measurements tm;
	const struct attribute_group *mr_group;
#endif
};

static void tvnsm_release(struct kref *ref)
{
	struct tvnsm *nsm = container_of(ref, struct tvnsm, ref);

	kfree(nsm->req);
	kfree(nsm->resp_dev);
	kvfree(nsm->resp);
	kfree(nsm);
}

static struct tvnsm *to_tvnsm_misc(struct miscdevice *misc)
{
	return container_of(misc, struct tvnsm, misc);
}

static struct tvnsm *to_tvnsm_rng(struct hwrng *rng)
{
	return container_of(rng, struct tvnsm, hwrng);
}

/* ---- device exchange --------------------------------------------------- */

static void tvnsm_vq_done(struct virtqueue *vq)
{
	struct tvnsm *nsm = vq->vdev->priv;

	complete(&nsm->done);
}

static void tvnsm_mark_broken_locked(struct tvnsm *nsm, const char *why)
{
	if (!nsm->broken)
		dev_err(&nsm->vdev->dev,
			"%s; the device is considered broken\n", why);
	nsm->broken = true;
}

/**
 * tvnsm_exchange_locked() - send @nsm->req and receive the response
 * @nsm: the device; the caller holds @nsm->lock
 *
 * Queues the request and a response buffer of NSM_RESPONSE_MAX_SIZE bytes
 * as two chains, as the in-tree driver does, kicks and waits. The device
 * must return the request chain first; the response length it reports must
 * fit the buffer. The response is then copied once into @nsm->resp.
 *
 * Context: process context, may sleep up to TVNSM_TIMEOUT_MS.
 * Return: 0, -ENODEV after removal, -EIO (broken device or failed kick),
 * -ETIMEDOUT, -ENODATA (wrong buffer order), or an error from queueing.
 */
static int tvnsm_exchange_locked(struct tvnsm *nsm)
{
	struct device *dev = &nsm->vdev->dev;
	unsigned long timeout = msecs_to_jiffies(TVNSM_TIMEOUT_MS);
	struct scatterlist sg_out, sg_in;
	unsigned int len;
	void *token;
	long left;
	int rc;

	lockdep_assert_held(&nsm->lock);
	reinit_completion(&nsm->done);
	/* pairs with the barrier in tvnsm_remove(): see it there */
	smp_mb();
	if (READ_ONCE(nsm->dead))
		return -ENODEV;
	if (nsm->broken)
		return -EIO;

	sg_init_one(&sg_out, nsm->req, nsm->req_len);
	sg_init_one(&sg_in, nsm->resp_dev, NSM_RESPONSE_MAX_SIZE);
	rc = virtqueue_add_outbuf(nsm->vq, &sg_out, 1, nsm->req, GFP_KERNEL);
	if (rc)
		return rc;
	rc = virtqueue_add_inbuf(nsm->vq, &sg_in, 1, nsm->resp_dev, GFP_KERNEL);
	if (rc) {
		/* the lone request chain can never be answered: reclaim it */
		tvnsm_mark_broken_locked(nsm,
					 "cannot queue the response buffer");
		return rc;
	}
	if (!virtqueue_kick(nsm->vq)) {
		tvnsm_mark_broken_locked(nsm, "virtqueue kick failed");
		return -EIO;
	}

	left = wait_for_completion_io_timeout(&nsm->done, timeout);
	if (READ_ONCE(nsm->dead))
		return -ENODEV;
	if (!left) {
		/* the buffers stay with the device: nothing may reuse them */
		tvnsm_mark_broken_locked(nsm, "no response within 120 s");
		return -ETIMEDOUT;
	}

	token = virtqueue_get_buf(nsm->vq, &len);
	if (token != nsm->req) {
		tvnsm_mark_broken_locked(nsm, "wrong request buffer returned");
		return -ENODATA;
	}
	token = virtqueue_get_buf(nsm->vq, &len);
	if (token != nsm->resp_dev) {
		tvnsm_mark_broken_locked(nsm, "wrong response buffer returned");
		return -ENODATA;
	}
	if (len > NSM_RESPONSE_MAX_SIZE) {
		dev_err_ratelimited(dev, "response length %u exceeds %u\n", len,
				    NSM_RESPONSE_MAX_SIZE);
		return -EIO;
	}
	/* the one read of the device's buffer */
	memcpy(nsm->resp, nsm->resp_dev, len);
	nsm->resp_len = len;
	return 0;
}

/* ---- CBOR: a bounded reader over the private response copy --------------- */

/**
 * struct tvnsm_cur - a cursor over bytes that only advances through checks
 * @p: next byte
 * @len: bytes left
 */
struct tvnsm_cur {
	const u8 *p;
	size_t len;
};

static int cbor_head(struct tvnsm_cur *c, u8 *major, u64 *arg)
{
	unsigned int ai, n, i;
	u64 v;

	if (!c->len)
		return -EPROTO;
	*major = c->p[0] & 0xe0;
	ai = c->p[0] & 0x1f;
	c->p++;
	c->len--;
	if (ai < 24) {
		*arg = ai;
		return 0;
	}
	if (ai > 27)
		return -EPROTO; /* reserved or indefinite length */
	n = 1U << (ai - 24);
	if (c->len < n)
		return -EPROTO;
	for (v = 0, i = 0; i < n; i++)
		v = (v << 8) | c->p[i];
	c->p += n;
	c->len -= n;
	*arg = v;
	return 0;
}

static int cbor_bytes(struct tvnsm_cur *c, u8 want, const u8 **p, size_t *n)
{
	u8 major;
	u64 arg;
	int rc = cbor_head(c, &major, &arg);

	if (rc)
		return rc;
	if (major != want || arg > c->len)
		return -EPROTO;
	*p = c->p;
	*n = arg;
	c->p += arg;
	c->len -= arg;
	return 0;
}

static int cbor_skip(struct tvnsm_cur *c, unsigned int depth)
{
	const u8 *p;
	size_t n;
	u8 major;
	u64 arg, i;
	int rc;

	if (depth > CBOR_MAX_DEPTH || !c->len)
		return -EPROTO;
	major = c->p[0] & 0xe0;
	if (major == CBOR_BSTR || major == CBOR_TSTR)
		return cbor_bytes(c, major, &p, &n);
	rc = cbor_head(c, &major, &arg);
	if (rc)
		return rc;
	switch (major) {
	case CBOR_ARRAY:
	case CBOR_MAP:
		/* every item takes at least one byte: bounds the loop */
		if (arg > c->len)
			return -EPROTO;
		if (major == CBOR_MAP)
			arg *= 2;
		for (i = 0; i < arg; i++) {
			rc = cbor_skip(c, depth + 1);
			if (rc)
				return rc;
		}
		return 0;
	case 0xc0: /* tag */
		return cbor_skip(c, depth + 1);
	default: /* integers, simple values, floats */
		return 0;
	}
}

static bool cbor_text_is(const u8 *p, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(p, s, n);
}

/* Map the name in {"Error": name} to an errno. */
static int tvnsm_error_errno(const u8 *p, size_t n)
{
	if (cbor_text_is(p, n, "ReadOnlyIndex"))
		return -EPERM;
	if (cbor_text_is(p, n, "InvalidIndex") ||
	    cbor_text_is(p, n, "InvalidArgument") ||
	    cbor_text_is(p, n, "InvalidOperation"))
		return -EINVAL;
	if (cbor_text_is(p, n, "InputTooLarge"))
		return -EMSGSIZE;
	return -EIO;
}

/**
 * tvnsm_resp_open() - enter the value of a {"@name": value} response
 * @nsm: the device, @nsm->resp holds the response
 * @name: the expected operation name
 * @c: set to the value on success
 *
 * Return: 0; an errno for {"Error": ...} (-EPERM for ReadOnlyIndex); -EPROTO
 * for anything else.
 */
static int tvnsm_resp_open(struct tvnsm *nsm, const char *name,
			   struct tvnsm_cur *c)
{
	const u8 *p;
	size_t n;
	u8 major;
	u64 arg;
	int rc;

	c->p = nsm->resp;
	c->len = nsm->resp_len;
	rc = cbor_head(c, &major, &arg);
	if (rc || major != CBOR_MAP || arg != 1)
		return -EPROTO;
	rc = cbor_bytes(c, CBOR_TSTR, &p, &n);
	if (rc)
		return rc;
	if (cbor_text_is(p, n, "Error")) {
		rc = cbor_bytes(c, CBOR_TSTR, &p, &n);
		return rc ? rc : tvnsm_error_errno(p, n);
	}
	return cbor_text_is(p, n, name) ? 0 : -EPROTO;
}

/**
 * tvnsm_resp_field() - find a byte-string or boolean field of a map
 * @c: cursor at the map; not advanced
 * @key: field name
 * @p: the byte string (NULL for a boolean)
 * @n: its length, or the boolean
 *
 * Return: 0, -ENOENT when the key is absent, -EPROTO on bad CBOR.
 */
static int tvnsm_resp_field(const struct tvnsm_cur *c, const char *key,
			    const u8 **p, size_t *n)
{
	struct tvnsm_cur m = *c;
	const u8 *k;
	size_t kn;
	u8 major;
	u64 arg, i;
	int rc;

	rc = cbor_head(&m, &major, &arg);
	if (rc || major != CBOR_MAP || arg > m.len)
		return -EPROTO;
	for (i = 0; i < arg; i++) {
		rc = cbor_bytes(&m, CBOR_TSTR, &k, &kn);
		if (rc)
			return rc;
		if (!cbor_text_is(k, kn, key)) {
			rc = cbor_skip(&m, 1);
			if (rc)
				return rc;
			continue;
		}
		if (m.len && (m.p[0] == CBOR_TRUE || m.p[0] == CBOR_FALSE)) {
			*p = NULL;
			*n = m.p[0] == CBOR_TRUE;
			return 0;
		}
		return cbor_bytes(&m, CBOR_BSTR, p, n);
	}
	return -ENOENT;
}

/* ---- CBOR: request writer into @nsm->req -------------------------------- */

static void cbor_put_head(struct tvnsm *nsm, u8 major, size_t arg)
{
	u8 *o = nsm->req + nsm->req_len;

	/* every request built here is far below NSM_REQUEST_MAX_SIZE */
	if (arg < 24) {
		o[0] = major | arg;
		nsm->req_len += 1;
	} else if (arg < 256) {
		o[0] = major | 24;
		o[1] = arg;
		nsm->req_len += 2;
	} else {
		o[0] = major | 25;
		o[1] = arg >> 8;
		o[2] = arg & 0xff;
		nsm->req_len += 3;
	}
}

static void cbor_put_bytes(struct tvnsm *nsm, u8 major, const void *p, size_t n)
{
	cbor_put_head(nsm, major, n);
	memcpy(nsm->req + nsm->req_len, p, n);
	nsm->req_len += n;
}

static void cbor_put_null(struct tvnsm *nsm)
{
	nsm->req[nsm->req_len++] = CBOR_NULL;
}

static void cbor_put_text(struct tvnsm *nsm, const char *s)
{
	cbor_put_bytes(nsm, CBOR_TSTR, s, strlen(s));
}

/* Start {"@op": {...@n_fields...}} in @nsm->req. */
static void tvnsm_req_begin(struct tvnsm *nsm, const char *op,
			    unsigned int n_fields)
{
	nsm->req_len = 0;
	cbor_put_head(nsm, CBOR_MAP, 1);
	cbor_put_text(nsm, op);
	cbor_put_head(nsm, CBOR_MAP, n_fields);
}

/* ---- PCR state ---------------------------------------------------------- */

/*
 * A PCR value is published to sysfs readers by switching @pcr_idx to the
 * buffer just written, never by rewriting the buffer a reader may be
 * copying. The next rewrite of that buffer needs another full device round
 * trip under @lock.
 */
static void tvnsm_pcr_store_locked(struct tvnsm *nsm, unsigned int i,
				   const u8 *val)
{
	u8 next = !nsm->pcr_idx[i];

	memcpy(nsm->pcr_val[i][next], val, TVNSM_PCR_SIZE);
	smp_wmb(); /* the value before the pointer that shows it */
	WRITE_ONCE(nsm->pcr_idx[i], next);
#if TVNSM_HAVE_MR
	WRITE_ONCE(nsm->mrs[i].mr_value, nsm->pcr_val[i][next]);
#endif
}

/**
 * tvnsm_describe_pcr_locked() - DescribePCR @i into the PCR state
 * @nsm: the device; the caller holds @nsm->lock
 * @i: PCR index
 *
 * Return: 0, -EINVAL for an index the device does not have, another errno
 * on a transport or protocol failure.
 */
static int tvnsm_describe_pcr_locked(struct tvnsm *nsm, unsigned int i)
{
	struct tvnsm_cur c;
	const u8 *p, *dummy;
	size_t n, lock;
	int rc;

	tvnsm_req_begin(nsm, "DescribePCR", 1);
	cbor_put_text(nsm, "index");
	cbor_put_head(nsm, CBOR_UINT, i);
	rc = tvnsm_exchange_locked(nsm);
	if (rc)
		return rc;
	rc = tvnsm_resp_open(nsm, "DescribePCR", &c);
	if (rc)
		return rc;
	if (tvnsm_resp_field(&c, "data", &p, &n) || !p || n != TVNSM_PCR_SIZE ||
	    tvnsm_resp_field(&c, "lock", &dummy, &lock) || dummy) {
		dev_err_ratelimited(&nsm->vdev->dev,
				    "malformed DescribePCR response\n");
		return -EPROTO;
	}
	tvnsm_pcr_store_locked(nsm, i, p);
	if (lock)
		set_bit(i, nsm->pcr_locked);
	else
		clear_bit(i, nsm->pcr_locked);
	return 0;
}

static void tvnsm_refresh_pcrs_locked(struct tvnsm *nsm)
{
	unsigned int i;

	for (i = 0; i < nsm->n_pcrs; i++)
		if (tvnsm_describe_pcr_locked(nsm, i))
			break;
}

/* Read the index (or range) field of a request the caller sent. */
static int tvnsm_req_uint(const struct tvnsm_cur *c, const char *key, u64 *v)
{
	struct tvnsm_cur m = *c;
	const u8 *k;
	size_t kn;
	u8 major;
	u64 arg, i;

	if (cbor_head(&m, &major, &arg) || major != CBOR_MAP || arg > m.len)
		return -EPROTO;
	for (i = 0; i < arg; i++) {
		if (cbor_bytes(&m, CBOR_TSTR, &k, &kn))
			return -EPROTO;
		if (cbor_text_is(k, kn, key))
			return cbor_head(&m, &major, v) || major != CBOR_UINT
				       ? -EPROTO
				       : 0;
		if (cbor_skip(&m, 1))
			return -EPROTO;
	}
	return -ENOENT;
}

/**
 * tvnsm_track_raw_locked() - keep the PCR state coherent with a raw request
 * @nsm: the device; @nsm->req holds the caller's request and @nsm->resp the
 *	device's answer to it
 *
 * ExtendPCR answers carry the new value; LockPCR and LockPCRs succeed with a
 * bare name. A request this cannot follow makes the whole bank be described
 * again. Runs after the response was copied to the caller, so it costs the
 * caller nothing in correctness; it only reuses the buffers.
 */
static void tvnsm_track_raw_locked(struct tvnsm *nsm)
{
	struct tvnsm_cur rq = { nsm->req, nsm->req_len }, rs;
	const u8 *op, *p;
	size_t n_op, n;
	u8 major;
	u64 arg, idx;
	unsigned int i;

	if (!nsm->n_pcrs)
		return;
	if (cbor_head(&rq, &major, &arg) || major != CBOR_MAP || arg != 1 ||
	    cbor_bytes(&rq, CBOR_TSTR, &op, &n_op))
		return; /* a plain text request changes no PCR */
	if (cbor_text_is(op, n_op, "ExtendPCR")) {
		if (tvnsm_req_uint(&rq, "index", &idx) || idx >= nsm->n_pcrs)
			goto refresh;
		if (tvnsm_resp_open(nsm, "ExtendPCR", &rs))
			return; /* refused: nothing changed */
		if (tvnsm_resp_field(&rs, "data", &p, &n) || !p ||
		    n != TVNSM_PCR_SIZE)
			goto refresh;
		tvnsm_pcr_store_locked(nsm, idx, p);
		return;
	}
	if (cbor_text_is(op, n_op, "LockPCR") ||
	    cbor_text_is(op, n_op, "LockPCRs")) {
		bool one = n_op == strlen("LockPCR");

		if (tvnsm_req_uint(&rq, one ? "index" : "range", &idx))
			goto refresh;
		rs.p = nsm->resp;
		rs.len = nsm->resp_len;
		/* success is the bare name, anything else changed nothing */
		if (cbor_bytes(&rs, CBOR_TSTR, &p, &n) || n != n_op ||
		    memcmp(p, op, n))
			return;
		if (one && idx < nsm->n_pcrs)
			set_bit(idx, nsm->pcr_locked);
		for (i = 0; !one && i < idx && i < nsm->n_pcrs; i++)
			set_bit(i, nsm->pcr_locked);
		return;
	}
	return;
refresh:
	tvnsm_refresh_pcrs_locked(nsm);
}

/* ---- /dev/nsm ----------------------------------------------------------- */

static int tvnsm_open(struct inode *inode, struct file *file)
{
	struct tvnsm *nsm = to_tvnsm_misc(file->private_data);

	/* misc_open() holds misc_mtx: removal cannot run in between */
	kref_get(&nsm->ref);
	return 0;
}

static int tvnsm_file_release(struct inode *inode, struct file *file)
{
	struct tvnsm *nsm = to_tvnsm_misc(file->private_data);

	kref_put(&nsm->ref, tvnsm_release);
	return 0;
}

static long tvnsm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct tvnsm *nsm = to_tvnsm_misc(file->private_data);
	void __user *argp = u64_to_user_ptr((u64)arg);
	struct nsm_raw raw;
	long rc;

	if (cmd != NSM_IOCTL_RAW)
		return -EINVAL;
	if (copy_from_user(&raw, argp, sizeof(raw)))
		return -EFAULT;
	if (raw.request.len > NSM_REQUEST_MAX_SIZE)
		return -EMSGSIZE;

	mutex_lock(&nsm->lock);
	if (copy_from_user(nsm->req, u64_to_user_ptr(raw.request.addr),
			   raw.request.len)) {
		rc = -EFAULT;
		goto out;
	}
	nsm->req_len = raw.request.len;
	rc = tvnsm_exchange_locked(nsm);
	if (rc)
		goto out;
	/* the response is silently truncated to the caller's buffer */
	raw.response.len = min_t(u64, raw.response.len, nsm->resp_len);
	if (copy_to_user(u64_to_user_ptr(raw.response.addr), nsm->resp,
			 raw.response.len) ||
	    copy_to_user(argp, &raw, sizeof(raw)))
		rc = -EFAULT;
	tvnsm_track_raw_locked(nsm);
out:
	mutex_unlock(&nsm->lock);
	return rc;
}

static const struct file_operations tvnsm_fops = {
	.owner = THIS_MODULE,
	.open = tvnsm_open,
	.release = tvnsm_file_release,
	.unlocked_ioctl = tvnsm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- hwrng -------------------------------------------------------------- */

static int tvnsm_rng_read(struct hwrng *rng, void *data, size_t max, bool wait)
{
	struct tvnsm *nsm = to_tvnsm_rng(rng);
	struct tvnsm_cur c;
	const u8 *p;
	size_t n;
	int rc;

	/* every NSM request has to wait for the device */
	if (!wait)
		return 0;

	mutex_lock(&nsm->lock);
	/* "GetRandom" as a bare text string: 69 47657452616e646f6d */
	nsm->req_len = 0;
	cbor_put_text(nsm, "GetRandom");
	rc = tvnsm_exchange_locked(nsm);
	if (rc)
		goto out;
	rc = tvnsm_resp_open(nsm, "GetRandom", &c);
	if (!rc)
		rc = tvnsm_resp_field(&c, "random", &p, &n);
	if (rc || !p) {
		dev_err_ratelimited(&nsm->vdev->dev,
				    "Invalid response for GetRandom\n");
		rc = -EFAULT;
		goto out;
	}
	rc = min(n, max);
	memcpy(data, p, rc);
out:
	mutex_unlock(&nsm->lock);
	return rc;
}

/* ---- driver attributes -------------------------------------------------- */

static ssize_t locked_pcrs_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct tvnsm *nsm = to_tvnsm_misc(dev_get_drvdata(dev));
	DECLARE_BITMAP(locked, TVNSM_MAX_PCRS);

	mutex_lock(&nsm->lock);
	bitmap_copy(locked, nsm->pcr_locked, TVNSM_MAX_PCRS);
	mutex_unlock(&nsm->lock);
	return sysfs_emit(buf, "%*pbl\n", TVNSM_MAX_PCRS, locked);
}
static DEVICE_ATTR_RO(locked_pcrs);

static struct attribute *tvnsm_attrs[] = {
	&dev_attr_locked_pcrs.attr,
	NULL,
};

static const struct attribute_group tvnsm_attr_group = {
	.attrs = tvnsm_attrs,
};

/* ---- configfs-tsm report provider --------------------------------------- */

#if TVNSM_HAVE_REPORTS
static int tvnsm_report_new(struct tsm_report *report, void *data)
{
	struct tvnsm *nsm = data;
	const u8 *in = report->desc.inblob;
	size_t in_len = report->desc.inblob_len;
	int use = READ_ONCE(tvnsm_inblob_use);
	struct tvnsm_cur c;
	const u8 *doc;
	size_t doc_len;
	int rc;

	/* configfs-tsm refuses an empty inblob before calling here */
	if (!in_len || in_len > TVNSM_INBLOB_MAX)
		return -EINVAL;

	mutex_lock(&nsm->lock);
	/*
	 * {"Attestation": {"user_data": bstr/null, "nonce": bstr/null,
	 *                  "public_key": null}}
	 */
	tvnsm_req_begin(nsm, "Attestation", 3);
	cbor_put_text(nsm, "user_data");
	if (use == TVNSM_INBLOB_NONCE)
		cbor_put_null(nsm);
	else
		cbor_put_bytes(nsm, CBOR_BSTR, in, in_len);
	cbor_put_text(nsm, "nonce");
	if (use == TVNSM_INBLOB_USER_DATA)
		cbor_put_null(nsm);
	else
		cbor_put_bytes(nsm, CBOR_BSTR, in, in_len);
	cbor_put_text(nsm, "public_key");
	cbor_put_null(nsm);

	rc = tvnsm_exchange_locked(nsm);
	if (rc)
		goto out;
	rc = tvnsm_resp_open(nsm, "Attestation", &c);
	if (!rc)
		rc = tvnsm_resp_field(&c, "document", &doc, &doc_len);
	if (rc || !doc || !doc_len) {
		dev_err_ratelimited(&nsm->vdev->dev, "attestation failed: %d\n",
				    rc);
		rc = rc == -EPERM || rc == -EINVAL ? rc : -EIO;
		goto out;
	}
	if (doc_len > TVNSM_OUTBLOB_MAX) {
		rc = -EFBIG;
		goto out;
	}
	report->outblob = kvmemdup(doc, doc_len, GFP_KERNEL);
	if (!report->outblob) {
		rc = -ENOMEM;
		goto out;
	}
	report->outblob_len = doc_len;
	rc = 0;
out:
	mutex_unlock(&nsm->lock);
	return rc;
}

/* Only the inputs and outputs NSM has: inblob, outblob, generation, provider. */
static bool tvnsm_report_attr_visible(int n)
{
	return n == TSM_REPORT_GENERATION || n == TSM_REPORT_PROVIDER;
}

static bool tvnsm_report_bin_attr_visible(int n)
{
	return n == TSM_REPORT_INBLOB || n == TSM_REPORT_OUTBLOB;
}

static const struct tvnsm_report_ops tvnsm_report_ops = {
	.name = "nsm",
	.report_new = tvnsm_report_new,
	.report_attr_visible = tvnsm_report_attr_visible,
	.report_bin_attr_visible = tvnsm_report_bin_attr_visible,
};

static void tvnsm_report_init(struct tvnsm *nsm)
{
	struct device *dev = &nsm->vdev->dev;
	int rc = tvnsm_report_register(&tvnsm_report_ops, nsm);

	if (rc == -EBUSY) {
		/* clang-format off */
		dev_info(dev, "no configfs-tsm report provider: another provider holds the slot; /dev/nsm works as before\n");
		/* clang-format on */
		return;
	}
	if (rc) {
		dev_warn(dev,
			 "configfs-tsm report provider not registered: %d\n",
			 rc);
		return;
	}
	nsm->report_registered = true;
}

static void tvnsm_report_exit(struct tvnsm *nsm)
{
	if (!nsm->report_registered)
		return;
	/* waits for a report being generated (which fails fast once dead) */
	tvnsm_report_unregister(&tvnsm_report_ops);
	nsm->report_registered = false;
}
#else
static void tvnsm_report_init(struct tvnsm *nsm)
{
	/* clang-format off */
	dev_info(&nsm->vdev->dev, "no configfs-tsm report provider: this kernel has no CONFIG_TSM_REPORTS\n");
	/* clang-format on */
}

static void tvnsm_report_exit(struct tvnsm *nsm)
{
}
#endif

/* ---- tsm-mr measurement registers --------------------------------------- */

#if TVNSM_HAVE_MR
static struct tvnsm *to_tvnsm_tm(const struct tsm_measurements *tm)
{
	return container_of(tm, struct tvnsm, tm);
}

/* Extend a PCR by a 48-byte write; locked PCRs refuse with -EPERM. */
static int tvnsm_mr_write(const struct tsm_measurements *tm,
			  const struct tsm_measurement_register *mr,
			  const u8 *data)
{
	struct tvnsm *nsm = to_tvnsm_tm(tm);
	unsigned int i = mr - nsm->mrs;
	struct tvnsm_cur c;
	const u8 *p;
	size_t n;
	int rc;

	if (i >= nsm->n_pcrs)
		return -EINVAL;
	mutex_lock(&nsm->lock);
	if (test_bit(i, nsm->pcr_locked)) {
		rc = -EPERM;
		goto out;
	}
	/* {"ExtendPCR": {"index": i, "data": bstr(48)}} */
	tvnsm_req_begin(nsm, "ExtendPCR", 2);
	cbor_put_text(nsm, "index");
	cbor_put_head(nsm, CBOR_UINT, i);
	cbor_put_text(nsm, "data");
	cbor_put_bytes(nsm, CBOR_BSTR, data, mr->mr_size);
	rc = tvnsm_exchange_locked(nsm);
	if (rc)
		goto out;
	rc = tvnsm_resp_open(nsm, "ExtendPCR", &c);
	if (rc == -EPERM)
		set_bit(i, nsm->pcr_locked); /* locked behind our back */
	if (rc)
		goto out;
	if (tvnsm_resp_field(&c, "data", &p, &n) || !p || n != TVNSM_PCR_SIZE) {
		dev_err_ratelimited(&nsm->vdev->dev,
				    "malformed ExtendPCR response\n");
		rc = -EPROTO;
		goto out;
	}
	tvnsm_pcr_store_locked(nsm, i, p);
out:
	mutex_unlock(&nsm->lock);
	return rc;
}

static int tvnsm_mr_init(struct tvnsm *nsm)
{
	const struct attribute_group *grp;
	unsigned int i;

	for (i = 0; i < nsm->n_pcrs; i++) {
		struct tsm_measurement_register *mr = &nsm->mrs[i];

		snprintf(nsm->mr_names[i], sizeof(nsm->mr_names[i]), "pcr%u",
			 i);
		mr->mr_name = nsm->mr_names[i];
		mr->mr_value = nsm->pcr_val[i][nsm->pcr_idx[i]];
		mr->mr_size = TVNSM_PCR_SIZE;
		mr->mr_hash = HASH_ALGO_SHA384;
		/* a PCR locked now stays locked: its file is read-only */
		mr->mr_flags = TSM_MR_F_READABLE;
		if (!test_bit(i, nsm->pcr_locked))
			mr->mr_flags |= TSM_MR_F_WRITABLE;
	}
	nsm->tm.mrs = nsm->mrs;
	nsm->tm.nr_mrs = nsm->n_pcrs;
	nsm->tm.write = tvnsm_mr_write;
	grp = tsm_mr_create_attribute_group(&nsm->tm);
	if (IS_ERR(grp))
		return PTR_ERR(grp);
	nsm->mr_group = grp;
	return 0;
}

static void tvnsm_mr_exit(struct tvnsm *nsm)
{
	tsm_mr_free_attribute_group(nsm->mr_group);
	nsm->mr_group = NULL;
}
#else
static int tvnsm_mr_init(struct tvnsm *nsm)
{
	return 0;
}

static void tvnsm_mr_exit(struct tvnsm *nsm)
{
}
#endif

/* ---- probe and remove --------------------------------------------------- */

static int tvnsm_probe(struct virtio_device *vdev)
{
	struct device *dev = &vdev->dev;
	unsigned int g = 0;
	struct tvnsm *nsm;
	int rc;

	nsm = kzalloc(sizeof(*nsm), GFP_KERNEL);
	if (!nsm)
		return -ENOMEM;
	kref_init(&nsm->ref);
	mutex_init(&nsm->lock);
	init_completion(&nsm->done);
	nsm->vdev = vdev;
	nsm->req = kmalloc(NSM_REQUEST_MAX_SIZE, GFP_KERNEL);
	nsm->resp_dev = kmalloc(NSM_RESPONSE_MAX_SIZE, GFP_KERNEL);
	nsm->resp = kvmalloc(NSM_RESPONSE_MAX_SIZE, GFP_KERNEL);
	if (!nsm->req || !nsm->resp_dev || !nsm->resp) {
		rc = -ENOMEM;
		goto err_free;
	}
	vdev->priv = nsm;

	nsm->vq = virtio_find_single_vq(vdev, tvnsm_vq_done, "nsm.vq.0");
	if (IS_ERR(nsm->vq)) {
		rc = PTR_ERR(nsm->vq);
		dev_err(dev, "queue failed to initialize: %d\n", rc);
		goto err_free;
	}
	/* requests go out from here on: the hwrng asks at once */
	virtio_device_ready(vdev);

	/* the PCR bank: as many PCRs as the device describes, up to 32 */
	mutex_lock(&nsm->lock);
	for (nsm->n_pcrs = 0; nsm->n_pcrs < TVNSM_MAX_PCRS; nsm->n_pcrs++) {
		rc = tvnsm_describe_pcr_locked(nsm, nsm->n_pcrs);
		if (rc)
			break;
	}
	mutex_unlock(&nsm->lock);
	if (rc && rc != -EINVAL)
		dev_warn(dev, "PCR bank not described (%d); %u PCRs known\n",
			 rc, nsm->n_pcrs);

	rc = tvnsm_mr_init(nsm);
	if (rc) {
		dev_err(dev, "measurement registers not created: %d\n", rc);
		goto err_reset;
	}

	nsm->hwrng = (struct hwrng){
		.read = tvnsm_rng_read,
		.name = "nsm-hwrng",
		.quality = 1000,
	};
	rc = hwrng_register(&nsm->hwrng);
	if (rc) {
		dev_err(dev, "RNG initialization error: %d\n", rc);
		goto err_mr;
	}

	nsm->groups[g++] = &tvnsm_attr_group;
#if TVNSM_HAVE_MR
	nsm->groups[g++] = nsm->mr_group;
#endif
	nsm->groups[g] = NULL;
	nsm->misc = (struct miscdevice){
		.minor = MISC_DYNAMIC_MINOR,
		.name = "nsm",
		.fops = &tvnsm_fops,
		.mode = 0666,
		.groups = nsm->groups,
	};
	rc = misc_register(&nsm->misc);
	if (rc) {
		dev_err(dev, "misc device registration error: %d\n", rc);
		goto err_hwrng;
	}

	tvnsm_report_init(nsm);
	return 0;

err_hwrng:
	hwrng_unregister(&nsm->hwrng);
err_mr:
	tvnsm_mr_exit(nsm);
err_reset:
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
err_free:
	vdev->priv = NULL;
	kref_put(&nsm->ref, tvnsm_release);
	return rc;
}

/*
 * Removal may come with a request in flight (the device was unplugged, or
 * the module is unloaded while a caller waits). The device is reset first,
 * so it touches no buffer after this; the waiter is woken and fails with
 * -ENODEV; every interface is then taken down, each waiting for its own
 * callers; the queue goes last, under the lock. Open files keep the
 * structure alive and get -ENODEV.
 */
static void tvnsm_remove(struct virtio_device *vdev)
{
	struct tvnsm *nsm = vdev->priv;

	WRITE_ONCE(nsm->dead, true);
	/* pairs with smp_mb() in tvnsm_exchange_locked(): dead before wake */
	smp_mb();
	virtio_reset_device(vdev);
	complete_all(&nsm->done);

	tvnsm_report_exit(nsm);
	misc_deregister(&nsm->misc);
	hwrng_unregister(&nsm->hwrng);
	tvnsm_mr_exit(nsm);

	mutex_lock(&nsm->lock);
	vdev->config->del_vqs(vdev);
	nsm->vq = NULL;
	mutex_unlock(&nsm->lock);
	vdev->priv = NULL;
	kref_put(&nsm->ref, tvnsm_release);
}

static const struct virtio_device_id tvnsm_id_table[] = {
	{ VIRTIO_ID_NITRO_SEC_MOD, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, tvnsm_id_table);

static struct virtio_driver tvnsm_driver = {
	.driver.name = KBUILD_MODNAME,
	.id_table = tvnsm_id_table,
	.probe = tvnsm_probe,
	.remove = tvnsm_remove,
};
module_virtio_driver(tvnsm_driver);

MODULE_DESCRIPTION("virtio NSM with configfs-tsm reports and tsm-mr PCRs");
MODULE_LICENSE("Dual MIT/GPL");
