/* media/wav: audio files through libsndfile.  Reading takes any format
 * libsndfile knows, converted to 16-bit by libsndfile and mixed down to
 * mono here; it must be 8000 Hz already (libsndfile does not resample, and
 * we do not hand-write a resampler: the error says how to convert).
 * Writing makes 8 kHz mono 16-bit PCM WAV, the header kept current after
 * each write (SFC_SET_UPDATE_HEADER_AUTO) so a killed phone leaves a
 * playable recording.
 *
 * File I/O is blocking and runs on the loop thread: 320 bytes per 20 ms,
 * which a local disk absorbs in its page cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>

#include "switchboard/media.h"

/* Frames read from the file per libsndfile call. */
#define WAV_CHUNK SB_MEDIA_MAX_FRAME

struct sb_wav {
	SNDFILE *sf;
	int fd;              /* ours: libsndfile is told not to close it */
	bool writing;
	unsigned channels;
	uint64_t samples;
	int16_t tmp[WAV_CHUNK * SB_WAV_MAX_CHANNELS];
};

static void say(char *why, size_t cap, const char *fmt, const char *path, const char *detail)
{
	if (why && cap)
		snprintf(why, cap, fmt, path, detail);
}

int sb_wav_open_read(struct sb_wav **wp, const char *path, char *why, size_t why_cap)
{
	SF_INFO info;
	struct sb_wav *w;
	int fd, err;

	*wp = NULL;
	if (why && why_cap)
		why[0] = '\0';
	if (!path)
		return EINVAL;
	/* open it ourselves: a missing file is ENOENT, not a libsndfile text */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		say(why, why_cap, "%s: %s", path, strerror(err));
		return err;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		close(fd);
		return ENOMEM;
	}
	memset(&info, 0, sizeof info);
	w->fd = fd;
	w->sf = sf_open_fd(fd, SFM_READ, &info, SF_FALSE);
	if (!w->sf) {
		say(why, why_cap, "%s: not an audio file libsndfile reads (%s)", path,
		    sf_strerror(NULL));
		close(fd);
		free(w);
		return EBADMSG;
	}
	if (info.samplerate != (int)SB_MEDIA_RATE) {
		char rate[48];

		snprintf(rate, sizeof rate, "%d", info.samplerate);
		say(why, why_cap,
		    "%s: sample rate %s Hz; need 8000 Hz (convert: sox IN -r 8000 -c 1 OUT.wav)",
		    path, rate);
		err = ENOTSUP;
		goto fail;
	}
	if (info.channels < 1 || info.channels > (int)SB_WAV_MAX_CHANNELS) {
		say(why, why_cap, "%s: %s channels; at most 8", path, "too many");
		err = E2BIG;
		goto fail;
	}
	w->channels = (unsigned)info.channels;
	*wp = w;
	return 0;
fail:
	sf_close(w->sf);
	close(w->fd);
	free(w);
	return err;
}

int sb_wav_open_write(struct sb_wav **wp, const char *path, char *why, size_t why_cap)
{
	SF_INFO info;
	struct sb_wav *w;
	int fd, err;

	*wp = NULL;
	if (why && why_cap)
		why[0] = '\0';
	if (!path)
		return EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		say(why, why_cap, "%s: %s", path, strerror(err));
		return err;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		close(fd);
		return ENOMEM;
	}
	memset(&info, 0, sizeof info);
	info.samplerate = SB_MEDIA_RATE;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	w->fd = fd;
	w->sf = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
	if (!w->sf) {
		say(why, why_cap, "%s: cannot write WAV (%s)", path, sf_strerror(NULL));
		close(fd);
		free(w);
		return EIO;
	}
	sf_command(w->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	w->writing = true;
	w->channels = 1;
	*wp = w;
	return 0;
}

/* Up to n mono samples from where the file is; 0 at its end. */
static size_t read_some(struct sb_wav *w, int16_t *out, size_t n)
{
	sf_count_t got;
	size_t i, c;

	if (n > WAV_CHUNK)
		n = WAV_CHUNK;
	if (w->channels == 1) {
		got = sf_readf_short(w->sf, out, (sf_count_t)n);
		return got > 0 ? (size_t)got : 0;
	}
	got = sf_readf_short(w->sf, w->tmp, (sf_count_t)n);
	if (got <= 0)
		return 0;
	for (i = 0; i < (size_t)got; i++) {
		int32_t sum = 0;

		for (c = 0; c < w->channels; c++)
			sum += w->tmp[i * w->channels + c];
		out[i] = (int16_t)(sum / (int32_t)w->channels);
	}
	return (size_t)got;
}

size_t sb_wav_read(struct sb_wav *w, int16_t *out, size_t n, bool loop)
{
	size_t done = 0;
	/* one rewind per pass through the file: an empty file (or one that
	 * cannot seek) cannot spin */
	bool rewound = false;

	if (!w || w->writing)
		return 0;
	while (done < n) {
		size_t got = read_some(w, out + done, n - done);

		if (got == 0) {
			if (!loop || rewound || sf_seek(w->sf, 0, SEEK_SET) < 0)
				break;
			rewound = true;
			continue;
		}
		rewound = false;
		done += got;
	}
	w->samples += done;
	return done;
}

int sb_wav_write(struct sb_wav *w, const int16_t *pcm, size_t n)
{
	if (!w || !w->writing)
		return EINVAL;
	if (w->samples + n > SB_WAV_MAX_WRITE_SAMPLES)
		return ENOSPC;
	if (sf_write_short(w->sf, pcm, (sf_count_t)n) != (sf_count_t)n)
		return EIO;
	w->samples += n;
	return 0;
}

uint64_t sb_wav_samples(const struct sb_wav *w)
{
	return w ? w->samples : 0;
}

void sb_wav_close(struct sb_wav *w)
{
	if (!w)
		return;
	sf_close(w->sf);
	close(w->fd);
	free(w);
}
